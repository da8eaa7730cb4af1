import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import descriptorExt from "protobufjs/ext/descriptor/index.js";
import { describe, expect, it } from "vitest";
import { jsonNameOf } from "../../src/grpc/descriptors.js";
import {
  findProtoRoot,
  healthProtoRoot,
  reflectionDescriptors,
  SIMULATOR_PROTO,
} from "../../src/grpc/proto.js";

type Json = Record<string, unknown>;
const { FileDescriptorProto, FileDescriptorSet } = descriptorExt as unknown as {
  FileDescriptorProto: { decode(b: Uint8Array): unknown; toObject(m: unknown, o: Json): Json };
  FileDescriptorSet: { decode(b: Uint8Array): unknown; toObject(m: unknown, o: Json): { file: Json[] } };
};

/** What reflection clients use: names, numbers, labels, types, oneofs, map entries, methods. Comments/options dropped. */
function normalize(file: Json): Json {
  const field = (f: Json) => ({
    name: f.name,
    number: f.number,
    label: f.label,
    type: f.type,
    typeName: f.typeName ?? null,
    jsonName: f.jsonName,
    oneofIndex: f.oneofIndex ?? null,
    proto3Optional: f.proto3Optional ?? false,
  });
  const message = (m: Json): Json => ({
    name: m.name,
    field: ((m.field as Json[]) ?? []).map(field),
    nestedType: ((m.nestedType as Json[]) ?? []).map(message),
    enumType: ((m.enumType as Json[]) ?? []).map(enumOf),
    oneofDecl: ((m.oneofDecl as Json[]) ?? []).map((o) => o.name),
    mapEntry: (m.options as Json | undefined)?.mapEntry ?? false,
  });
  const enumOf = (e: Json) => ({
    name: e.name,
    value: ((e.value as Json[]) ?? []).map((v) => [v.name, v.number]),
  });
  return {
    name: file.name,
    package: file.package,
    dependency: file.dependency ?? [],
    syntax: file.syntax ?? "proto2",
    messageType: ((file.messageType as Json[]) ?? []).map(message),
    enumType: ((file.enumType as Json[]) ?? []).map(enumOf),
    service: ((file.service as Json[]) ?? []).map((s) => ({
      name: s.name,
      method: ((s.method as Json[]) ?? []).map((m) => ({
        name: m.name,
        inputType: m.inputType,
        outputType: m.outputType,
        clientStreaming: m.clientStreaming ?? false,
        serverStreaming: m.serverStreaming ?? false,
      })),
    })),
  };
}

const TO_OBJECT = { enums: Number, longs: Number, defaults: false, arrays: true };
// Debian protobuf-compiler has no well-known-type includes of its own; python3-grpc-tools ships them
const WKT_DIR = "/usr/lib/python3/dist-packages/grpc_tools/_proto";
const hasProtoc =
  spawnSync("protoc", ["--version"]).status === 0 && spawnSync("test", ["-d", WKT_DIR]).status === 0;

describe("reflection descriptors", () => {
  it("computes json_name as protoc does", () => {
    expect(jsonNameOf("memory_bytes")).toBe("memoryBytes");
    expect(jsonNameOf("v1_kmem_limit_bytes")).toBe("v1KmemLimitBytes");
    expect(jsonNameOf("name")).toBe("name");
  });

  it("declares every file a file references, and serves each file once, dependencies first", () => {
    const files = reflectionDescriptors().map((b) =>
      FileDescriptorProto.toObject(FileDescriptorProto.decode(b), TO_OBJECT),
    );
    expect(files.map((f) => [f.name, f.dependency ?? []])).toEqual([
      ["google/protobuf/struct.proto", []],
      ["health/v1/health.proto", []],
      ["memcg_sim/v1/simulator.proto", ["google/protobuf/struct.proto"]],
    ]);
  });

  it.skipIf(!hasProtoc)(
    "equal protoc's --descriptor_set_out --include_imports for what reflection clients read",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "memcg-sim-desc-"));
      try {
        const out = join(dir, "set.pb");
        execFileSync("protoc", [
          "-I",
          findProtoRoot(),
          "-I",
          healthProtoRoot(),
          "-I",
          WKT_DIR,
          "--include_imports",
          `--descriptor_set_out=${out}`,
          SIMULATOR_PROTO,
          "health/v1/health.proto",
        ]);
        const theirs = FileDescriptorSet.toObject(
          FileDescriptorSet.decode(readFileSync(out)),
          TO_OBJECT,
        ).file.map(normalize);
        const ours = reflectionDescriptors()
          .map((b) => FileDescriptorProto.toObject(FileDescriptorProto.decode(b), TO_OBJECT))
          .map(normalize);
        const byName = (list: Json[]) => Object.fromEntries(list.map((f) => [f.name, f]));
        expect(Object.keys(byName(theirs)).sort()).toEqual([
          "google/protobuf/struct.proto",
          "health/v1/health.proto",
          SIMULATOR_PROTO,
        ]);
        expect(byName(ours)).toEqual(byName(theirs));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
