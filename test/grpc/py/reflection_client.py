#!/usr/bin/env python3
"""A gRPC server-reflection client that knows nothing of memcg-sim's protos: the descriptor-pool flow.

Run with /usr/bin/python3 (Debian's python3-grpcio and protobuf-compiler; Debian has no
python3-grpcio-reflection):

    /usr/bin/python3 test/grpc/py/reflection_client.py --address 127.0.0.1:50051

Debian ships no grpc_reflection module, so this file compiles the reflection proto that
@grpc/reflection ships (grpc.reflection.v1) with Debian's protoc (messages; the one
bidirectional method is called by its path), then does what grpcio-reflection's
ProtoReflectionDescriptorDatabase does (grpc_reflection/v1alpha/proto_reflection_descriptor_database.py):
a DescriptorDatabase whose misses ask the server (file_containing_symbol, file_by_filename), adding
every FileDescriptorProto of each answer, under a fresh DescriptorPool. A served file that declares
no dependency yet uses another file's type, or a file served twice with different contents, makes
the pool raise. It then resolves every service, method and message reachable from them, finds the
service's file by name, and calls methods through message classes built from the served descriptors
alone. Prints one JSON object.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import grpc
from google.protobuf import descriptor_database, descriptor_pool, json_format
from google.protobuf import message_factory

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
TIMEOUT_S = 10
REFLECTION_PROTO_ROOT = os.path.join(ROOT, "node_modules", "@grpc", "reflection", "build", "proto")
REFLECTION_PROTO = "grpc/reflection/v1/reflection.proto"


def generate_reflection_stubs(out_dir):
    system_protoc = shutil.which("protoc")
    if system_protoc is None:
        raise SystemExit("protoc not found on PATH (apt-get install protobuf-compiler)")
    descriptor_set = os.path.join(out_dir, "reflection.pb")
    subprocess.run([
        system_protoc, "-I", REFLECTION_PROTO_ROOT, "--include_imports",
        "--descriptor_set_out=" + descriptor_set, "--python_out=" + out_dir, REFLECTION_PROTO,
    ], check=True, timeout=60)


class ReflectionDatabase(descriptor_database.DescriptorDatabase):
    """grpcio-reflection's ProtoReflectionDescriptorDatabase, reduced to what a descriptor pool asks."""

    def __init__(self, channel, pb2):
        super().__init__()
        self._pb2 = pb2
        self._info = channel.stream_stream(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            request_serializer=pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=pb2.ServerReflectionResponse.FromString,
        )
        self._known = set()
        self.requests = []

    def _ask(self, **kwargs):
        request = self._pb2.ServerReflectionRequest(**kwargs)
        self.requests.append(json_format.MessageToDict(request))
        responses = list(self._info(iter([request]), timeout=TIMEOUT_S))
        assert len(responses) == 1, len(responses)
        response = responses[0]
        if response.HasField("error_response"):
            raise KeyError(response.error_response.error_message)
        return response

    def list_services(self):
        response = self._ask(list_services="")
        return [s.name for s in response.list_services_response.service]

    def _add(self, response):
        from google.protobuf import descriptor_pb2
        for raw in response.file_descriptor_response.file_descriptor_proto:
            fdp = descriptor_pb2.FileDescriptorProto.FromString(raw)
            if fdp.name in self._known:
                continue
            self._known.add(fdp.name)
            self.Add(fdp)  # raises on a second, different file of the same name

    def FindFileByName(self, name):
        try:
            return super().FindFileByName(name)
        except KeyError:
            pass
        self._add(self._ask(file_by_filename=name))
        return super().FindFileByName(name)

    def FindFileContainingSymbol(self, symbol):
        try:
            return super().FindFileContainingSymbol(symbol)
        except KeyError:
            pass
        self._add(self._ask(file_containing_symbol=symbol))
        return super().FindFileContainingSymbol(symbol)

    def FindAllExtensionNumbers(self, extendee_name):
        response = self._ask(all_extension_numbers_of_type=extendee_name)
        return list(response.all_extension_numbers_response.extension_number)

    def FindFileContainingExtension(self, extendee_name, extension_number):
        return None


def message_names(pool, service_names):
    """Every message reachable from the services' methods (fields followed recursively)."""
    seen = set()
    todo = []
    for name in service_names:
        service = pool.FindServiceByName(name)
        for method in service.methods:
            todo += [method.input_type, method.output_type]
    while todo:
        message = todo.pop()
        if message.full_name in seen:
            continue
        seen.add(message.full_name)
        # resolving by name again checks the pool serves each one by symbol
        assert pool.FindMessageTypeByName(message.full_name) is message
        for field in message.fields:
            if field.message_type is not None:
                todo.append(field.message_type)
    return sorted(seen)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True)
    parser.add_argument("--instance", default="refl")
    args = parser.parse_args()
    out = {}
    with tempfile.TemporaryDirectory(prefix="memcg-sim-refl-") as out_dir:
        generate_reflection_stubs(out_dir)
        import importlib.util

        def load(name, path):
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            return module

        gen = os.path.join(out_dir, "grpc", "reflection", "v1")
        pb2 = load("grpc.reflection.v1.reflection_pb2", os.path.join(gen, "reflection_pb2.py"))

        with grpc.insecure_channel(args.address) as channel:
            db = ReflectionDatabase(channel, pb2)
            services = db.list_services()
            out["services"] = sorted(services)
            pool = descriptor_pool.DescriptorPool(db)
            out["methods"] = {}
            for name in services:
                if name == "grpc.reflection.v1.ServerReflection" or name == "grpc.reflection.v1alpha.ServerReflection":
                    continue
                service = pool.FindServiceByName(name)
                out["methods"][name] = [m.name for m in service.methods]
            out["messages"] = message_names(pool, list(out["methods"]))
            simulator_file = pool.FindFileByName("memcg_sim/v1/simulator.proto")
            out["simulator_file"] = {
                "name": simulator_file.name,
                "package": simulator_file.package,
                "dependencies": [d.name for d in simulator_file.dependencies],
                "services": list(simulator_file.services_by_name),
            }
            out["files"] = sorted(db._known)
            # by file name, asked of the server directly (the pool above had it cached already)
            from google.protobuf import descriptor_pb2
            response = db._ask(file_by_filename="memcg_sim/v1/simulator.proto")
            out["by_filename"] = [descriptor_pb2.FileDescriptorProto.FromString(raw).name
                                  for raw in response.file_descriptor_response.file_descriptor_proto]

            def cls(full_name):
                return message_factory.MessageFactory(pool).GetPrototype(pool.FindMessageTypeByName(full_name))

            def call(method_name, request_json):
                method = pool.FindServiceByName("memcg_sim.v1.SimulatorService").FindMethodByName(method_name)
                request_cls = cls(method.input_type.full_name)
                response_cls = cls(method.output_type.full_name)
                request = json_format.Parse(json.dumps(request_json), request_cls())
                stub = channel.unary_unary(
                    "/memcg_sim.v1.SimulatorService/" + method_name,
                    request_serializer=request_cls.SerializeToString,
                    response_deserializer=response_cls.FromString,
                )
                return json_format.MessageToDict(stub(request, timeout=TIMEOUT_S), preserving_proto_field_name=True)

            out["created"] = call("CreateInstance", {"name": args.instance, "config": {"model": "v5.9", "cpuCount": 1}})
            call("CreateCgroup", {"instance": args.instance, "path": "/a"})
            call("CreateCache", {"instance": args.instance, "name": "dentry", "objectSizeBytes": 192,
                                 "flags": {"account": True, "reclaimAccount": True}})
            out["alloc"] = call("AllocObjects", {"instance": args.instance, "cache": "dentry", "cgroup": "/a", "count": 21})
            out["memory_current"] = call("ReadFile", {"instance": args.instance, "cgroup": "/a", "file": "memory.current"})
            out["requests"] = db.requests
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
