#!/usr/bin/env python3
"""Python messages and gRPC stubs for memcg-sim's protos, with Debian's packages.

    /usr/bin/python3 scripts/gen_python_stubs.py OUT_DIR

writes OUT_DIR/memcg_sim/v1/simulator_pb2.py, simulator_pb2_grpc.py and OUT_DIR/health/v1/health_pb2*.py
(health from the proto grpc-health-check ships, since Debian has no grpc_health module).

Why two compilers: Debian's python3-grpc-tools (grpc_tools.protoc) bundles libprotoc 3.5.1, which
predates proto3 `optional` (3.15) and cannot parse simulator.proto; its generated messages would
not load in python3-protobuf 4.21 either. So Debian's protoc 3.21 (protobuf-compiler) parses the
protos and writes the messages plus a descriptor set, and grpc_tools.protoc writes the gRPC stubs
from that set (stubs only name messages and method paths, which 3.5.1 reads fine). Needs
protobuf-compiler, python3-grpcio and python3-grpc-tools (apt). test/grpc/py/client.py uses this,
so the Python peer test runs it.
"""
import os
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
FILES = ["memcg_sim/v1/simulator.proto", "health/v1/health.proto"]


def generate(out_dir, proto_root=os.path.join(ROOT, "proto"),
             health_root=os.path.join(ROOT, "node_modules", "grpc-health-check", "proto")):
    import grpc_tools
    from grpc_tools import protoc

    system_protoc = shutil.which("protoc")
    if system_protoc is None:
        raise SystemExit("protoc not found on PATH (apt-get install protobuf-compiler)")
    os.makedirs(out_dir, exist_ok=True)
    # Debian's protoc has no well-known-type includes of its own; grpc_tools ships them
    wkt = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    descriptor_set = os.path.join(out_dir, "protos.pb")
    subprocess.run([
        system_protoc, "-I", proto_root, "-I", health_root, "-I", wkt,
        "--include_imports", "--descriptor_set_out=" + descriptor_set, "--python_out=" + out_dir,
    ] + FILES, check=True, timeout=60)
    # protoc.main, not `python -m grpc_tools.protoc`: the module entry point adds an -I, which
    # protoc refuses next to --descriptor_set_in
    rc = protoc.main(["grpc_tools.protoc", "--descriptor_set_in=" + descriptor_set, "--grpc_python_out=" + out_dir] + FILES)
    if rc != 0:
        raise SystemExit("grpc_tools.protoc failed with %d" % rc)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: /usr/bin/python3 scripts/gen_python_stubs.py OUT_DIR")
    generate(sys.argv[1])
    print("wrote Python messages and stubs to " + sys.argv[1])
