#!/usr/bin/env python3
"""An independent gRPC peer for memcg-sim: Python grpcio, stubs generated from the repo's protos.

Run with /usr/bin/python3 (Debian's python3-grpcio and python3-grpc-tools live there):

    /usr/bin/python3 test/grpc/py/client.py --address 127.0.0.1:50051

It generates code into a temporary folder with scripts/gen_python_stubs.py (messages with Debian's
protoc, gRPC stubs with grpc_tools.protoc) for the simulator proto and for the health proto that
grpc-health-check ships, since Debian has no grpc_health module. Then it calls health
Check, CreateInstance, CreateCgroup, CreateCache, AllocObjects (including one refused call, to see
the status and the memcg-sim-error-code trailer) and ReadFile, and prints one JSON object.
"""
import argparse
import importlib
import json
import os
import sys
import tempfile

import grpc
from google.protobuf import json_format

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
TIMEOUT_S = 10


def generate(out_dir, proto_root, health_root):
    """Messages with Debian's protoc, stubs with grpc_tools.protoc: scripts/gen_python_stubs.py."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import gen_python_stubs
    gen_python_stubs.generate(out_dir, proto_root, health_root)
    sys.path.insert(0, out_dir)


def as_dict(message):
    # proto3 JSON mapping: field names as in the .proto, int64 as decimal strings (exact)
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True)
    parser.add_argument("--proto-root", default=os.path.join(ROOT, "proto"))
    parser.add_argument("--health-root", default=os.path.join(ROOT, "node_modules", "grpc-health-check", "proto"))
    parser.add_argument("--instance", default="py")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="memcg-sim-py-") as out_dir:
        generate(out_dir, args.proto_root, args.health_root)
        sim = importlib.import_module("memcg_sim.v1.simulator_pb2")
        sim_grpc = importlib.import_module("memcg_sim.v1.simulator_pb2_grpc")
        health = importlib.import_module("health.v1.health_pb2")
        health_grpc = importlib.import_module("health.v1.health_pb2_grpc")

        out = {}
        with grpc.insecure_channel(args.address) as channel:
            checker = health_grpc.HealthStub(channel)
            out["health"] = health.HealthCheckResponse.ServingStatus.Name(
                checker.Check(health.HealthCheckRequest(service=""), timeout=TIMEOUT_S).status)
            out["health_service"] = health.HealthCheckResponse.ServingStatus.Name(
                checker.Check(health.HealthCheckRequest(service="memcg_sim.v1.SimulatorService"), timeout=TIMEOUT_S).status)

            stub = sim_grpc.SimulatorServiceStub(channel)
            created = stub.CreateInstance(sim.CreateInstanceRequest(
                name=args.instance,
                config=sim.InstanceConfig(model="v5.9", memory_bytes=17179869184, seed=7),
            ), timeout=TIMEOUT_S)
            out["instance"] = as_dict(created.instance)

            # a refused call: the status code and the catalogue code in the trailer
            try:
                stub.AllocObjects(sim.AllocObjectsRequest(instance=args.instance, cache="nope", cgroup="/"), timeout=TIMEOUT_S)
                out["refused"] = None
            except grpc.RpcError as err:
                trailers = dict(err.trailing_metadata() or ())
                out["refused"] = {"code": err.code().name, "details": err.details(), "error_code": trailers.get("memcg-sim-error-code")}

            stub.CreateCgroup(sim.CreateCgroupRequest(instance=args.instance, path="/app"), timeout=TIMEOUT_S)
            stub.CreateCache(sim.CreateCacheRequest(
                instance=args.instance, name="dentry", object_size_bytes=192,
                flags=sim.CacheFlags(account=True, reclaim_account=True),
            ), timeout=TIMEOUT_S)
            alloc = stub.AllocObjects(sim.AllocObjectsRequest(instance=args.instance, cache="dentry", cgroup="/app", count=100), timeout=TIMEOUT_S)
            out["alloc"] = as_dict(alloc)
            out["error_present"] = alloc.HasField("error")
            read = stub.ReadFile(sim.ReadFileRequest(instance=args.instance, cgroup="/app", file="memory.current"), timeout=TIMEOUT_S)
            out["memory_current"] = read.value

    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
