"""template.yaml as data: the one place the local stack and the tests learn the stack's shape.

The local stack creates its table and serves its routes from these helpers, so the definitions
exist once, in the template. `load_template` understands CloudFormation's short tags (`!Ref`,
`!Sub`, `!GetAtt`, ...) and returns their long form (`{"Ref": ...}`, `{"Fn::Sub": ...}`), the same
shape a JSON template has. The other helpers read a loaded template and never touch AWS.
"""

from __future__ import annotations

import copy
import functools
import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from guildlog.errors import ConfigurationError

TEMPLATE_FILE = "template.yaml"
TABLE_TYPE = "AWS::DynamoDB::Table"
FUNCTION_TYPE = "AWS::Serverless::Function"
BUCKET_TYPE = "AWS::S3::Bucket"
QUEUE_TYPE = "AWS::SQS::Queue"
# The setting that names the archive bucket: the bucket it refers to is the archive, the others are not.
ARCHIVE_BUCKET_VARIABLE = "GUILDLOG_BUCKET_NAME"
# Stack outputs whose key ends so name a dead-letter queue (`guildlog dlq`).
DEAD_LETTER_OUTPUT_SUFFIX = "DeadLetterQueueUrl"

# Short tags whose long form is `Fn::<name>`; `!Ref` and `!Condition` keep their bare names.
_FN_TAGS = frozenset(
    {
        "And", "Base64", "Cidr", "Equals", "FindInMap", "GetAtt", "GetAZs", "If", "ImportValue",
        "Join", "Length", "Not", "Or", "Select", "Split", "Sub", "ToJsonString", "Transform",
    }
)  # fmt: skip
_BARE_TAGS = frozenset({"Ref", "Condition"})
# Keys boto3's create_table accepts inside an index; the template may carry more (contributor insights, ...).
_INDEX_KEYS = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput", "OnDemandThroughput")


class HttpRoute(NamedTuple):
    """One HTTP route as the template declares it (an HTTP API event or a function URL), and the code
    that answers it."""

    method: str  # upper case, or ANY
    path: str  # e.g. /interactions, or $default
    function_id: str  # the function's logical id
    module_path: str  # the handler's file relative to the template, e.g. functions/ingest/app.py
    handler_name: str  # the callable in that file, e.g. lambda_handler
    function_url: bool = False  # reached through the function's own URL (FunctionUrlConfig), not the HTTP API


def default_template_path() -> Path:
    """template.yaml of the checkout this package is installed from, else of the current directory."""
    from guildlog_tools.checkout import checkout_root

    return checkout_root() / TEMPLATE_FILE


def load_template(path: Path | None = None) -> dict[str, Any]:
    """The template at `path` (default: `default_template_path()`) with short tags in their long form."""
    import yaml

    source = path or default_template_path()
    try:
        text = Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError("cannot read the template", path=str(source), reason=str(exc)) from None
    try:
        document = yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass, see _loader
    except yaml.YAMLError as exc:
        raise ConfigurationError("template is not valid YAML", path=str(source), reason=str(exc)) from None
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise ConfigurationError("template has no Resources", path=str(source))
    return document


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id → resource for every resource of `resource_type`, in template order."""
    return {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if isinstance(resource, dict) and resource.get("Type") == resource_type
    }


def table_definition(template: Mapping[str, Any], logical_id: str | None = None) -> dict[str, Any]:
    """Keyword arguments for boto3's `create_table`, taken from the table resource's own properties.

    `TableName` is the template's name when it sets a literal one, else the logical id; callers
    usually replace it with their own. Raises ConfigurationError when the template holds more or
    fewer than one table and no `logical_id` is given, or when a key property is not a literal.
    """
    table_id, properties = _resource_properties(template, TABLE_TYPE, logical_id)
    name = properties.get("TableName")
    definition: dict[str, Any] = {
        "TableName": name if isinstance(name, str) else table_id,
        "KeySchema": properties.get("KeySchema"),
        "AttributeDefinitions": properties.get("AttributeDefinitions"),
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    if definition["BillingMode"] == "PROVISIONED":
        definition["ProvisionedThroughput"] = properties.get("ProvisionedThroughput")
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if key in properties:
            definition[key] = [{k: index[k] for k in _INDEX_KEYS if k in index} for index in properties[key]]
    missing = [key for key, value in definition.items() if value is None]
    if missing:
        raise ConfigurationError("table definition is incomplete", table=table_id, missing=missing)
    _require_literal(definition, table_id)
    return copy.deepcopy(definition)


def ttl_attribute(template: Mapping[str, Any], logical_id: str | None = None) -> str | None:
    """The table's TTL attribute name, or None when the template does not enable TTL."""
    table_id, properties = _resource_properties(template, TABLE_TYPE, logical_id)
    ttl = properties.get("TimeToLiveSpecification") or {}
    if ttl.get("Enabled") is not True:
        return None
    name = ttl.get("AttributeName")
    if not isinstance(name, str):
        raise ConfigurationError("TTL attribute is not a literal name", table=table_id)
    return name


def function_properties(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """A serverless function's properties with `Globals.Function` applied the way SAM applies them.

    Maps merge key by key, lists are the global items followed by the function's own, and any
    other value set on the function replaces the global one.
    """
    resource = template.get("Resources", {}).get(logical_id)
    if not isinstance(resource, dict) or resource.get("Type") != FUNCTION_TYPE:
        raise ConfigurationError("no such serverless function in the template", function=logical_id)
    globals_ = template.get("Globals", {}).get("Function", {})
    return _merge(globals_, resource.get("Properties", {}))


def function_environment(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """The function's environment variables: name → the template's expression (e.g. `{"Ref": "Table"}`).

    The names are the contract; the values are the stack's to resolve (the local stack supplies
    its own table, bucket and keys).
    """
    environment = function_properties(template, logical_id).get("Environment") or {}
    return dict(environment.get("Variables") or {})


def archive_bucket_id(template: Mapping[str, Any]) -> str:
    """The logical id of the archive bucket: the one `Globals` gives the functions as GUILDLOG_BUCKET_NAME."""
    variables = (template.get("Globals", {}).get("Function", {}).get("Environment") or {}).get("Variables") or {}
    value = variables.get(ARCHIVE_BUCKET_VARIABLE)
    bucket_id = value.get("Ref") if isinstance(value, dict) else None
    if bucket_id not in resources_of_type(template, BUCKET_TYPE):
        raise ConfigurationError(
            f"Globals.Function.Environment.{ARCHIVE_BUCKET_VARIABLE} must be a Ref to a bucket of the template"
        )
    return str(bucket_id)


def on_failure_queue_id(template: Mapping[str, Any], function_id: str) -> str | None:
    """The logical id of the SQS queue a function's failed async invokes go to, or None."""
    config = function_properties(template, function_id).get("EventInvokeConfig") or {}
    on_failure = (config.get("DestinationConfig") or {}).get("OnFailure") or {}
    destination = on_failure.get("Destination")
    if on_failure.get("Type") != "SQS" or not isinstance(destination, dict):
        return None
    target = destination.get("Fn::GetAtt")
    queue_id = target[0] if isinstance(target, list) and target[1:] == ["Arn"] else None
    return queue_id if queue_id in resources_of_type(template, QUEUE_TYPE) else None


def dead_letter_queue_ids(template: Mapping[str, Any]) -> dict[str, str]:
    """Output key → queue logical id, for every output named `…DeadLetterQueueUrl` that is a Ref to a queue."""
    queues = resources_of_type(template, QUEUE_TYPE)
    found = {}
    for key, output in (template.get("Outputs") or {}).items():
        value = output.get("Value") if isinstance(output, dict) else None
        if key.endswith(DEAD_LETTER_OUTPUT_SUFFIX) and isinstance(value, dict) and value.get("Ref") in queues:
            found[key] = str(value["Ref"])
    return found


def http_routes(template: Mapping[str, Any]) -> list[HttpRoute]:
    """Every `HttpApi` event of every serverless function, sorted by path then method."""
    routes = []
    for function_id in resources_of_type(template, FUNCTION_TYPE):
        properties = function_properties(template, function_id)
        for event in (properties.get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            event_properties = event.get("Properties") or {}
            module_path, handler_name = _handler_location(function_id, properties)
            routes.append(
                HttpRoute(
                    method=str(event_properties.get("Method", "ANY")).upper(),
                    path=str(event_properties.get("Path", "$default")),
                    function_id=function_id,
                    module_path=module_path,
                    handler_name=handler_name,
                )
            )
    return sorted(routes, key=lambda route: (route.path, route.method))


def function_url_routes(template: Mapping[str, Any]) -> list[HttpRoute]:
    """The route of every function with a `FunctionUrlConfig`, at the one path its handler accepts.

    A function URL hands the function every path and method; the handler refuses all but its own
    route. Which route that is lives in the handler's code, so it is named here explicitly, per
    function (see `function_url_route`); a function URL this does not know is a ConfigurationError.
    """
    routes = []
    for function_id in resources_of_type(template, FUNCTION_TYPE):
        properties = function_properties(template, function_id)
        if not properties.get("FunctionUrlConfig"):
            continue
        method, path = function_url_route(function_id)
        module_path, handler_name = _handler_location(function_id, properties)
        routes.append(HttpRoute(method, path, function_id, module_path, handler_name, function_url=True))
    return sorted(routes, key=lambda route: (route.path, route.method))


def function_url_route(function_id: str) -> tuple[str, str]:
    """(method, path) the handler behind `function_id`'s function URL accepts."""
    if function_id == "IngestFunction":
        from guildlog.handlers.ingest import INGEST_METHOD, INGEST_PATH  # the relay's webhook

        return INGEST_METHOD, INGEST_PATH
    raise ConfigurationError(
        "function URL with no known route: name the path its handler accepts in function_url_route",
        function=function_id,
    )


def _handler_location(function_id: str, properties: Mapping[str, Any]) -> tuple[str, str]:
    code_uri, handler = properties.get("CodeUri"), properties.get("Handler")
    if not isinstance(code_uri, str) or not isinstance(handler, str) or "." not in handler:
        raise ConfigurationError("function needs a local CodeUri and a module.name Handler", function=function_id)
    module, _, name = handler.rpartition(".")
    module_file = posixpath.join(code_uri.rstrip("/"), *module.split(".")) + ".py"
    return posixpath.normpath(module_file), name


def _resource_properties(
    template: Mapping[str, Any], resource_type: str, logical_id: str | None
) -> tuple[str, dict[str, Any]]:
    candidates = resources_of_type(template, resource_type)
    if logical_id is not None:
        if logical_id not in candidates:
            raise ConfigurationError("no such resource in the template", type=resource_type, logical_id=logical_id)
        return logical_id, candidates[logical_id].get("Properties", {})
    if len(candidates) != 1:
        raise ConfigurationError(
            "expected exactly one resource of this type", type=resource_type, found=sorted(candidates)
        )
    [(only_id, resource)] = candidates.items()
    return only_id, resource.get("Properties", {})


def _require_literal(value: Any, table_id: str) -> None:
    """Intrinsic functions cannot be resolved locally; refuse them rather than pass dicts to boto3."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" or key.startswith("Fn::"):
                raise ConfigurationError("table definition uses an intrinsic function", table=table_id, function=key)
            _require_literal(item, table_id)
    elif isinstance(value, list):
        for item in value:
            _require_literal(item, table_id)


def _merge(global_value: Any, own_value: Any) -> Any:
    if isinstance(global_value, dict) and isinstance(own_value, dict):
        merged = copy.deepcopy(global_value)
        for key, value in own_value.items():
            merged[key] = _merge(merged[key], value) if key in merged else copy.deepcopy(value)
        return merged
    if isinstance(global_value, list) and isinstance(own_value, list):
        return copy.deepcopy(global_value) + copy.deepcopy(own_value)
    return copy.deepcopy(own_value)


@functools.cache
def _loader() -> type:
    """A yaml.SafeLoader that turns CloudFormation short tags into their long form.

    Built on first use because PyYAML is a dev-only dependency. Timestamps stay strings
    (`AWSTemplateFormatVersion: 2010-09-09` is a string to CloudFormation, not a date).
    """
    import yaml

    class CloudFormationLoader(yaml.SafeLoader):
        pass

    CloudFormationLoader.yaml_implicit_resolvers = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        if suffix in _BARE_TAGS:
            return {suffix: value}
        if suffix not in _FN_TAGS:
            raise yaml.constructor.ConstructorError(
                None, None, f"unknown CloudFormation tag !{suffix}", node.start_mark
            )
        if suffix == "GetAtt" and isinstance(value, str):
            # `!GetAtt Resource.Attribute.With.Dots` splits at the first dot only.
            resource, _, attribute = value.partition(".")
            value = [resource, attribute]
        return {f"Fn::{suffix}": value}

    CloudFormationLoader.add_multi_constructor("!", construct_intrinsic)
    return CloudFormationLoader
