"""A stand-in for `sam build` + `sam deploy`: template.yaml packaged into moto's S3 and transformed by the
SAM translator, ready for moto's CloudFormation.

Moto's CloudFormation skips the resource types it cannot create, with a UserWarning naming each;
`created_types` collects them so the rehearsal can check those from the template instead. The one
type it is taught here is AWS::Lambda::Url (what SAM makes of FunctionUrlConfig): the relay's endpoint
output is built from its FunctionUrl, so the stack cannot be created without it.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.paths import REPO

CODE_BUCKET = "guildlog-rehearsal-artifacts"
APPLICATION_ID = "1310000000000000001"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:guildlog/bot-token-AbCdEf"
_CODE_PROPERTIES = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


class _NoManagedPolicies:
    """The translator asks IAM for AWS managed policies only when a template names one; this one names none."""

    def load(self) -> dict[str, str]:
        return {}


def _teach_moto_function_urls() -> None:
    """AWS::Lambda::Url in moto's CloudFormation: moto's own Lambda API creates the URL config."""
    from moto.awslambda.models import lambda_backends
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    if "AWS::Lambda::Url" in parsing.get_model_map():
        return

    class FunctionUrl(CloudFormationModel):
        def __init__(self, function: str, url: str) -> None:
            self.function, self.url = function, url

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Lambda::Url"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("FunctionUrl", "FunctionArn")

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return self.url if attribute_name == "FunctionUrl" else self.function

        @property
        def physical_resource_id(self) -> str:
            return self.function

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> FunctionUrl:
            properties = cloudformation_json["Properties"]
            config = {k: properties[k] for k in ("AuthType", "Cors", "InvokeMode") if k in properties}
            created = lambda_backends[account_id][region_name].create_function_url_config(
                properties["TargetFunctionArn"], config
            )
            # AWS gives the URL with a trailing slash (moto's API leaves it off).
            return cls(properties["TargetFunctionArn"], created.url.rstrip("/") + "/")

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def built_template(s3: Any) -> dict[str, Any]:
    """template.yaml with each CodeUri/ContentUri zipped into moto's S3, as CloudFormation JSON."""
    from samtranslator.translator.transform import transform

    from guildlog_tools.local.template import load_template

    _teach_moto_function_urls()
    template = load_template()
    s3.create_bucket(Bucket=CODE_BUCKET)
    for logical_id, resource in template["Resources"].items():
        key = _CODE_PROPERTIES.get(resource.get("Type"))
        if key:
            s3.put_object(Bucket=CODE_BUCKET, Key=f"{logical_id}.zip", Body=_zip(REPO / resource["Properties"][key]))
            resource["Properties"][key] = f"s3://{CODE_BUCKET}/{logical_id}.zip"
    built: dict[str, Any] = transform(template, {}, _NoManagedPolicies())
    return built


def parameters(public_key: str, relay_key: str = "ab" * 32) -> dict[str, str]:
    return {
        "DiscordApplicationId": APPLICATION_ID,
        "DiscordPublicKey": public_key,
        "RelayPublicKey": relay_key,
        "BotTokenSecretArn": SECRET_ARN,
    }


@contextmanager
def skipped_types() -> Iterator[set[str]]:
    """Collect the resource types moto's CloudFormation skipped while the block ran."""
    found: set[str] = set()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield found
    for warning in caught:
        text = str(warning.message)
        if "not supported by moto's CloudFormation" in text:
            found.add(text.split("Tried to parse ", 1)[1].split(" ", 1)[0])
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def as_json(template: dict[str, Any]) -> str:
    return json.dumps(template)
