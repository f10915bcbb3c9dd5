#!/usr/bin/python3
"""Test tool: calls a Chorus orchestrator from Python, learning the API only by server reflection.

No Chorus .proto file is read. The script asks the server's reflection service (v1 and v1alpha)
for its services and file descriptors, builds message classes from them at run time, then calls
ChatService (Chat, ChatStream, Batch, GetStats, GetStatus), HistoryService.GetConversation and
grpc.health.v1.Health/Check, and checks the answers. It prints one JSON object of results to
stdout and exits 1 when any check fails (2 when the Python gRPC packages are missing).

Run with Debian's packages: apt-get install python3-grpcio python3-grpc-tools grpc-proto
    /usr/bin/python3 tools/py-client/reflect_client.py --address 127.0.0.1:50051
"""

import argparse
import json
import os
import sys
import tempfile
import time

INSTALL_HINT = "apt-get install python3-grpcio python3-grpc-tools grpc-proto (and run with /usr/bin/python3)"

try:
    import grpc
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
except ImportError as err:  # pragma: no cover - depends on the machine
    print(json.dumps({"ok": False, "failures": [f"python grpc packages missing ({err}): {INSTALL_HINT}"]}))
    sys.exit(2)

GRPC_PROTO_DIR = "/usr/share/grpc-proto"
REFLECTION_VERSIONS = ("v1", "v1alpha")
CHAT_SERVICE = "chorus.v1.ChatService"
HISTORY_SERVICE = "chorus.v1.HistoryService"
HEALTH_SERVICE = "grpc.health.v1.Health"


class CheckFailed(Exception):
    """A check of the server's answers failed."""


def check(condition, message):
    """Raises CheckFailed with the message unless the condition holds."""
    if not condition:
        raise CheckFailed(message)


def message_class(pool, full_name):
    """The generated-at-run-time class of the named message in the pool."""
    descriptor = pool.FindMessageTypeByName(full_name)
    get_class = getattr(message_factory, "GetMessageClass", None)
    if get_class is not None:
        return get_class(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)


def add_files(pool, files_by_name):
    """Adds serialized FileDescriptorProtos to the pool, every dependency before its dependents."""
    added = set()

    def visit(name, path):
        if name in added:
            return
        check(name not in path, f"import cycle through {name}")
        check(name in files_by_name, f"reflection did not provide {name}")
        proto = files_by_name[name]
        for dependency in proto.dependency:
            visit(dependency, path | {name})
        pool.AddSerializedFile(proto.SerializeToString())
        added.add(name)

    for name in files_by_name:
        visit(name, frozenset())


def reflection_pool():
    """A pool holding the reflection protocol's messages, compiled now from /usr/share/grpc-proto."""
    from grpc_tools import protoc

    sources = [f"grpc/reflection/{version}/reflection.proto" for version in REFLECTION_VERSIONS]
    for source in sources:
        path = os.path.join(GRPC_PROTO_DIR, source)
        if not os.path.exists(path):
            raise CheckFailed(f"{path} is missing: {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="chorus-reflection-") as tmp:
        out = os.path.join(tmp, "reflection.pb")
        code = protoc.main(["protoc", f"-I{GRPC_PROTO_DIR}", f"--descriptor_set_out={out}", "--include_imports", *sources])
        check(code == 0, f"grpc_tools.protoc failed with {code} on {sources}")
        with open(out, "rb") as handle:
            descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(handle.read())
    pool = descriptor_pool.DescriptorPool()
    add_files(pool, {file.name: file for file in descriptor_set.file})
    return pool


class Reflection:
    """A client of one version of grpc.reflection.<version>.ServerReflection."""

    def __init__(self, channel, pool, version, timeout):
        package = f"grpc.reflection.{version}"
        self.version = version
        self.timeout = timeout
        self.request_class = message_class(pool, f"{package}.ServerReflectionRequest")
        response_class = message_class(pool, f"{package}.ServerReflectionResponse")
        self.info = channel.stream_stream(
            f"/{package}.ServerReflection/ServerReflectionInfo",
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=response_class.FromString,
        )

    def ask(self, **request):
        """Sends one request on its own stream and returns the single response."""
        responses = list(self.info(iter([self.request_class(**request)]), timeout=self.timeout))
        check(len(responses) == 1, f"reflection {self.version}: {len(responses)} responses to {request}")
        response = responses[0]
        kind = response.WhichOneof("message_response")
        if kind == "error_response":
            error = response.error_response
            raise CheckFailed(f"reflection {self.version} {request}: error {error.error_code} {error.error_message}")
        return response

    def services(self):
        """Names of the services the server lists."""
        return [service.name for service in self.ask(list_services="").list_services_response.service]

    def files_for(self, symbol):
        """FileDescriptorProtos of the file defining the symbol and of everything it imports, by name."""
        files = {}

        def take(response):
            for raw in response.file_descriptor_response.file_descriptor_proto:
                proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
                files[proto.name] = proto

        take(self.ask(file_containing_symbol=symbol))
        missing = [dep for proto in list(files.values()) for dep in proto.dependency if dep not in files]
        while missing:
            name = missing.pop()
            if name not in files:
                take(self.ask(file_by_filename=name))
                missing.extend(dep for dep in files[name].dependency if dep not in files)
        return files


class Api:
    """Callables for every method of the reflected services, typed by the reflected descriptors."""

    def __init__(self, channel, files, timeout):
        self.pool = descriptor_pool.DescriptorPool()
        add_files(self.pool, files)
        self.channel = channel
        self.timeout = timeout
        self.methods = {}
        for proto in files.values():
            for service in proto.service:
                full = f"{proto.package}.{service.name}" if proto.package else service.name
                for method in service.method:
                    self.methods[f"{full}/{method.name}"] = method

    def message(self, full_name, **fields):
        """A new message of the named type."""
        return message_class(self.pool, full_name)(**fields)

    def enum_value(self, enum_name, value_name):
        """The number of an enum value, looked up by names."""
        return self.pool.FindEnumTypeByName(enum_name).values_by_name[value_name].number

    def call(self, path, **fields):
        """Calls a method by "package.Service/Method": a message for unary, a list for server streams."""
        method = self.methods.get(path)
        check(method is not None, f"reflection does not describe {path}")
        request_class = message_class(self.pool, method.input_type.lstrip("."))
        response_class = message_class(self.pool, method.output_type.lstrip("."))
        kind = "unary_stream" if method.server_streaming else "unary_unary"
        check(not method.client_streaming, f"{path} is client streaming")
        stub = getattr(self.channel, kind)(
            f"/{path}", request_serializer=lambda m: m.SerializeToString(), response_deserializer=response_class.FromString
        )
        response = stub(request_class(**fields), timeout=self.timeout)
        return list(response) if method.server_streaming else response


def check_reflection(channel, timeout, results):
    """Lists services over both reflection versions and returns the files describing the public API."""
    pool = reflection_pool()
    files = {}
    for version in REFLECTION_VERSIONS:
        reflection = Reflection(channel, pool, version, timeout)
        services = reflection.services()
        for expected in (CHAT_SERVICE, HISTORY_SERVICE, HEALTH_SERVICE):
            check(expected in services, f"reflection {version}: {expected} not listed in {services}")
        for symbol in (CHAT_SERVICE, HISTORY_SERVICE, HEALTH_SERVICE):
            files.update(reflection.files_for(symbol))
        results[f"reflection_{version}"] = {"services": services}
    results["files"] = sorted(files)
    return files


def check_chat(api, results):
    """Chat answers with three successful agents and a non-empty answer."""
    response = api.call(f"{CHAT_SERVICE}/Chat", message="What is gRPC server reflection?")
    answers = list(response.agent_answers)
    check(len(answers) == 3, f"Chat: {len(answers)} agent answers, want 3")
    for answer in answers:
        check(answer.ok, f"Chat: agent {answer.agent} failed: {answer.error}")
        check(answer.text, f"Chat: agent {answer.agent} answered nothing")
    check(response.answer, "Chat: empty answer")
    check(response.conversation_id and response.turn_id, "Chat: missing conversation_id or turn_id")
    results["chat"] = {
        "conversation_id": response.conversation_id,
        "agents": [answer.agent for answer in answers],
        "all_ok": all(answer.ok for answer in answers),
        "answer_chars": len(response.answer),
    }
    return response


def check_chat_stream(api, results):
    """ChatStream sends started, deltas, one agent_done per agent, then final as the last event."""
    events = api.call(f"{CHAT_SERVICE}/ChatStream", message="Stream an answer about reflection")
    kinds = [event.WhichOneof("event") for event in events]
    check(kinds and kinds[0] == "started", f"ChatStream: first event is {kinds[:1]}, want started")
    check(kinds[-1] == "final", f"ChatStream: last event is {kinds[-1:]}, want final")
    check(kinds.count("final") == 1, "ChatStream: more than one final event")
    agents = list(events[0].started.agents)
    done = [event.agent_done for event in events if event.WhichOneof("event") == "agent_done"]
    check(len(done) == 3, f"ChatStream: {len(done)} agent_done events, want 3")
    check(sorted(d.agent for d in done) == sorted(agents), "ChatStream: agent_done agents differ from started")
    check(all(d.ok and d.text for d in done), "ChatStream: an agent_done is not ok or empty")
    deltas = [event.delta for event in events if event.WhichOneof("event") == "delta"]
    check(deltas, "ChatStream: no delta events")
    text = {agent: "" for agent in agents}
    for delta in deltas:
        text[delta.agent] = text.get(delta.agent, "") + delta.text
    for d in done:
        check(text.get(d.agent) == d.text, f"ChatStream: {d.agent} deltas do not add up to its answer")
    final = events[-1].final
    check(final.answer and len(final.agent_answers) == 3, "ChatStream: final lacks answer or agent answers")
    results["chat_stream"] = {
        "events": len(events),
        "deltas": len(deltas),
        "agent_done": len(done),
        "agents": agents,
        "first": kinds[0],
        "last": kinds[-1],
    }
    return agents


def check_batch(api, agents, results):
    """Batch count=6 round robin streams six items on agent i mod 3, then the summary last."""
    mode = api.enum_value("chorus.v1.BatchMode", "BATCH_MODE_ROUND_ROBIN")
    events = api.call(f"{CHAT_SERVICE}/Batch", count=6, mode=mode)
    kinds = [event.WhichOneof("event") for event in events]
    check(kinds == ["item"] * 6 + ["summary"], f"Batch: events {kinds}, want 6 items then summary")
    items = [event.item for event in events[:-1]]
    check(sorted(item.index for item in items) == list(range(6)), "Batch: item indexes are not 0..5")
    for item in items:
        want = agents[item.index % len(agents)]
        check(item.agent == want, f"Batch: item {item.index} ran on {item.agent}, want {want}")
        check(item.success and item.response, f"Batch: item {item.index} failed: {item.error}")
    summary = events[-1].summary
    check(summary.total == 6 and summary.successful == 6 and summary.failed == 0, f"Batch: summary {summary}")
    results["batch"] = {
        "items": len(items),
        "agents": [item.agent for item in sorted(items, key=lambda i: i.index)],
        "summary": {"total": summary.total, "successful": summary.successful, "failed": summary.failed},
    }


def check_stats_and_status(api, results):
    """GetStats counts the turns so far; GetStatus reports every component healthy and three pools."""
    stats = api.call(f"{CHAT_SERVICE}/GetStats")
    check(stats.total_requests >= 2, f"GetStats: total_requests {stats.total_requests}, want >= 2")
    check(stats.successful_requests >= 2, f"GetStats: successful_requests {stats.successful_requests}")
    check(len(stats.agents) == 3, f"GetStats: {len(stats.agents)} agents, want 3")
    results["stats"] = {
        "total_requests": stats.total_requests,
        "successful_requests": stats.successful_requests,
        "agents": [agent.agent for agent in stats.agents],
    }
    status = api.call(f"{CHAT_SERVICE}/GetStatus")
    check(status.initialized, "GetStatus: not initialized")
    unhealthy = [component.name for component in status.components if not component.healthy]
    check(not unhealthy, f"GetStatus: unhealthy components {unhealthy}")
    check(len(status.pools) == 3, f"GetStatus: {len(status.pools)} pools, want 3")
    for pool in status.pools:
        running = [replica for replica in pool.replicas if replica.state == "RUNNING"]
        check(running, f"GetStatus: pool {pool.agent} has no running replica")
    results["status"] = {
        "initialized": status.initialized,
        "components": [component.name for component in status.components],
        "pools": [pool.agent for pool in status.pools],
    }


def check_history(api, conversation_id, results):
    """HistoryService.GetConversation on the orchestrator's port returns the Chat turn."""
    response = api.call(f"{HISTORY_SERVICE}/GetConversation", conversation_id=conversation_id)
    check(len(response.turns) >= 1, f"GetConversation: {len(response.turns)} turns, want >= 1")
    results["history"] = {"turns": len(response.turns)}


def check_health(api, results):
    """grpc.health.v1.Health/Check for the whole server answers SERVING."""
    response = api.call(f"{HEALTH_SERVICE}/Check", service="")
    status = api.pool.FindEnumTypeByName("grpc.health.v1.HealthCheckResponse.ServingStatus")
    name = status.values_by_number[response.status].name
    check(name == "SERVING", f"Health/Check: {name}")
    results["health"] = {"status": name}


def check_empty_message(api, results):
    """Chat with an empty message fails with INVALID_ARGUMENT."""
    try:
        api.call(f"{CHAT_SERVICE}/Chat", message="")
    except grpc.RpcError as err:
        check(err.code() == grpc.StatusCode.INVALID_ARGUMENT, f"empty Chat: {err.code()} {err.details()}")
        results["invalid_argument"] = {"code": err.code().name, "details": err.details()}
        return
    raise CheckFailed("empty Chat: succeeded, want INVALID_ARGUMENT")


def open_channel(address, cacert):
    """A TLS channel trusting `cacert` (sending $CHORUS_API_KEY as a bearer token), else plaintext."""
    if not cacert:
        return grpc.insecure_channel(address)
    with open(cacert, "rb") as f:
        credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
    token = os.environ.get("CHORUS_API_KEY", "")
    if token:
        # access_token_call_credentials sends `authorization: Bearer <token>` on every call.
        credentials = grpc.composite_channel_credentials(credentials, grpc.access_token_call_credentials(token))
    return grpc.secure_channel(address, credentials)


def run(address, timeout, cacert=None):
    """Runs every check in order; returns the results object."""
    results = {"address": address, "ok": False, "failures": []}
    started = time.monotonic()
    with open_channel(address, cacert) as channel:
        grpc.channel_ready_future(channel).result(timeout=timeout)
        try:
            files = check_reflection(channel, timeout, results)
            api = Api(channel, files, timeout)
            chat = check_chat(api, results)
            agents = check_chat_stream(api, results)
            check_batch(api, agents, results)
            check_stats_and_status(api, results)
            check_history(api, chat.conversation_id, results)
            check_health(api, results)
            check_empty_message(api, results)
        except CheckFailed as err:
            results["failures"].append(str(err))
        except grpc.RpcError as err:
            results["failures"].append(f"RPC failed: {err.code()} {err.details()}")
        except Exception as err:  # noqa: BLE001 - any failure must end up in the JSON
            results["failures"].append(f"{type(err).__name__}: {err}")
    results["ok"] = not results["failures"]
    results["elapsed_ms"] = round((time.monotonic() - started) * 1000)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="orchestrator host:port, e.g. 127.0.0.1:50051")
    parser.add_argument("--timeout", type=float, default=30.0, help="deadline of each call, in seconds")
    parser.add_argument("--cacert", help="connect with TLS trusting this CA (PEM); the key comes from $CHORUS_API_KEY")
    args = parser.parse_args()
    try:
        results = run(args.address, args.timeout, args.cacert)
    except grpc.FutureTimeoutError:
        results = {"address": args.address, "ok": False, "failures": [f"no connection in {args.timeout} s"]}
    print(json.dumps(results, indent=2))
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
