"""NotifyFunction's early return of a waiting record, on moto's SQS: the record is visible again at once
when asked for 0 seconds, where the queue's own visibility timeout would hide it for minutes."""

from __future__ import annotations

from typing import Any

from guildlog.adapters.notify_queue import make_visible_in


def test_make_visible_in_brings_a_received_record_back_when_its_visibility_is_shortened(aws: dict[str, Any]) -> None:
    import boto3

    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="log.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "360"})[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message(QueueUrl=url, MessageBody="ban", MessageGroupId="g", MessageDeduplicationId="d1")
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None

    make_visible_in([{"receiptHandle": message["ReceiptHandle"], "eventSourceARN": arn}], 0, client=sqs)

    [again] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert again["Body"] == "ban"
