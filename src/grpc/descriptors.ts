import { existsSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";
import protobuf from "protobufjs";
import descriptorExt from "protobufjs/ext/descriptor/index.js";

/**
 * Self-contained FileDescriptorProtos for server reflection, one per .proto source file.
 *
 * Why not the descriptors proto-loader attaches to a package definition: protobufjs builds those
 * per *namespace*, not per file (one `google_protobuf.proto` holding every well-known type, one
 * `memcg_sim_v1.proto`), declares no `dependency`, and writes map fields' entries in a form
 * protobuf's own DescriptorPool refuses ("map_entry should not be set explicitly"). A standard
 * reflection client (grpcurl, Python's descriptor pool over grpcio-reflection) then cannot build
 * any file. This builds what `protoc --descriptor_set_out --include_imports` would, from the same
 * sources at start-up (no generated file to keep in step with the .proto):
 * - files named by their path under the include directory (`memcg_sim/v1/simulator.proto`,
 *   `google/protobuf/struct.proto`), each with its `package`, `syntax: "proto3"` and every imported
 *   file it references in `dependency`;
 * - fields with their kernel-independent wire facts: number, label, type, fully qualified
 *   `type_name`, `json_name` (lowerCamelCase, as protoc computes it), `oneof_index`;
 * - proto3 `optional` as protoc writes it: `proto3_optional` plus a synthetic one-field oneof
 *   `_<name>`, the synthetic oneofs after every real one;
 * - `map<K, V>` as a repeated field of the nested `<Name>Entry` message with `map_entry = true`;
 * - services and methods with fully qualified input/output types and streaming flags.
 * Comments, options other than `map_entry`, and source info are left out (reflection clients do not
 * need them). protobufjs's bundled well-known types (loaded for `import "google/protobuf/*.proto"`)
 * carry no file name, so they are named after the file protobufjs bundles them as.
 */

type Json = Record<string, unknown>;

const { FileDescriptorProto } = descriptorExt as unknown as {
  FileDescriptorProto: { fromObject(o: Json): unknown; encode(m: unknown): { finish(): Uint8Array } };
};

/** FieldDescriptorProto.Type numbers (descriptor.proto). */
const SCALAR_TYPE: Record<string, number> = {
  double: 1,
  float: 2,
  int64: 3,
  uint64: 4,
  int32: 5,
  fixed64: 6,
  fixed32: 7,
  bool: 8,
  string: 9,
  bytes: 12,
  uint32: 13,
  sfixed32: 15,
  sfixed64: 16,
  sint32: 17,
  sint64: 18,
};
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;
const LABEL_OPTIONAL = 1;
const LABEL_REPEATED = 3;

/** The well-known-type files protobufjs bundles (protobufjs src/common.js). */
const BUNDLED_WKT = ["any", "duration", "empty", "field_mask", "struct", "timestamp", "wrappers"];

/** protoc's ToJsonName: drop `_`, upper-case the letter after it. */
export function jsonNameOf(name: string): string {
  let out = "";
  let upper = false;
  for (const ch of name) {
    if (ch === "_") upper = true;
    else {
      out += upper ? ch.toUpperCase() : ch;
      upper = false;
    }
  }
  return out;
}

/** protoc's map entry name: the field name in CamelCase, upper first, plus "Entry". */
function mapEntryName(fieldName: string): string {
  const camel = jsonNameOf(fieldName);
  return `${camel.charAt(0).toUpperCase()}${camel.slice(1)}Entry`;
}

const absolute = (fullName: string) => (fullName.startsWith(".") ? fullName : `.${fullName}`);

export interface DescriptorSource {
  /** Folders searched for imports, in order (as protoc's -I). */
  includeDirs: string[];
  /** Files to load, relative to an include folder. */
  files: string[];
}

/** The encoded FileDescriptorProtos of `files` and everything they import, dependencies first. */
export function buildFileDescriptors(source: DescriptorSource): Uint8Array[] {
  const root = new protobuf.Root();
  const fileNameOf = (path: string): string => {
    for (const dir of source.includeDirs) {
      const rel = relative(dir, path);
      if (!rel.startsWith("..") && !isAbsolute(rel)) return rel.split(sep).join("/");
    }
    return path;
  };
  root.resolvePath = (_origin: string, target: string) => {
    if (isAbsolute(target)) return target;
    for (const dir of source.includeDirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target; // a bundled well-known type ("google/protobuf/struct.proto"), or a clear ENOENT
  };
  root.loadSync(
    source.files.map((f) => root.resolvePath("", f) as string),
    { keepCase: true },
  );
  root.resolveAll();

  // the bundled well-known types carry no file name: name them after the bundle they came from
  const wktFile = new Map<string, string>();
  for (const name of BUNDLED_WKT) {
    type Nested = { nested?: Record<string, Nested> };
    const json = protobuf.common.get(`google/protobuf/${name}.proto`) as Nested | null;
    const types = json?.nested?.google?.nested?.protobuf?.nested ?? {};
    for (const symbol of Object.keys(types))
      wktFile.set(`.google.protobuf.${symbol}`, `google/protobuf/${name}.proto`);
  }
  const fileOf = (obj: protobuf.ReflectionObject): string => {
    let top: protobuf.ReflectionObject = obj;
    while (top.parent instanceof protobuf.Type) top = top.parent;
    if (top.filename) return fileNameOf(top.filename);
    const wkt = wktFile.get(top.fullName);
    if (wkt === undefined) throw new Error(`no source file known for ${top.fullName}`);
    return wkt;
  };

  interface FileAcc {
    name: string;
    pkg: string;
    messageType: Json[];
    enumType: Json[];
    service: Json[];
    deps: Set<string>;
  }
  const files = new Map<string, FileAcc>();
  const accOf = (obj: protobuf.ReflectionObject): FileAcc => {
    const name = fileOf(obj);
    let acc = files.get(name);
    if (acc === undefined) {
      const pkg = obj.parent?.fullName.replace(/^\./, "") ?? "";
      acc = { name, pkg, messageType: [], enumType: [], service: [], deps: new Set() };
      files.set(name, acc);
    }
    return acc;
  };
  const reference = (acc: FileAcc, target: protobuf.ReflectionObject) => {
    const file = fileOf(target);
    if (file !== acc.name) acc.deps.add(file);
  };

  const enumDescriptor = (e: protobuf.Enum): Json => ({
    name: e.name,
    value: Object.entries(e.values).map(([name, number]) => ({ name, number })),
  });

  const messageDescriptor = (type: protobuf.Type, acc: FileAcc): Json => {
    const field: Json[] = [];
    const nestedType: Json[] = [];
    const enumType: Json[] = [];
    const realOneofs = type.oneofsArray.filter((o) => !o.fieldsArray.some((f) => f.options?.proto3_optional));
    const syntheticOneofs: protobuf.OneOf[] = [];
    // protobufjs bundles the well-known types with camelCase field names (`nullValue`); the
    // canonical files (google/protobuf/struct.proto) spell them in snake_case (`null_value`)
    const bundled = type.filename === null || type.filename === undefined;
    for (const f of type.fieldsArray) {
      const name = bundled ? f.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : f.name;
      const d: Json = { name, number: f.id, jsonName: jsonNameOf(name) };
      if (f instanceof protobuf.MapField) {
        const entry = mapEntryName(f.name);
        const valueField: Json = { name: "value", number: 2, label: LABEL_OPTIONAL, jsonName: "value" };
        setType(valueField, f.type, f.resolvedType, acc);
        nestedType.push({
          name: entry,
          field: [
            { name: "key", number: 1, label: LABEL_OPTIONAL, type: SCALAR_TYPE[f.keyType], jsonName: "key" },
            valueField,
          ],
          options: { mapEntry: true },
        });
        Object.assign(d, {
          label: LABEL_REPEATED,
          type: TYPE_MESSAGE,
          typeName: `${absolute(type.fullName)}.${entry}`,
        });
      } else {
        d.label = f.repeated ? LABEL_REPEATED : LABEL_OPTIONAL;
        setType(d, f.type, f.resolvedType, acc);
        if (f.options?.proto3_optional) {
          d.proto3Optional = true;
          if (f.partOf) syntheticOneofs.push(f.partOf);
        }
      }
      field.push(d);
    }
    const oneofs = [...realOneofs, ...syntheticOneofs];
    type.fieldsArray.forEach((f, i) => {
      const at = f.partOf ? oneofs.indexOf(f.partOf) : -1;
      if (at >= 0) (field[i] as Json).oneofIndex = at;
    });
    for (const nested of type.nestedArray) {
      if (nested instanceof protobuf.Type) nestedType.push(messageDescriptor(nested, acc));
      else if (nested instanceof protobuf.Enum) enumType.push(enumDescriptor(nested));
    }
    return { name: type.name, field, nestedType, enumType, oneofDecl: oneofs.map((o) => ({ name: o.name })) };
  };

  function setType(
    d: Json,
    typeName: string,
    resolved: protobuf.Type | protobuf.Enum | null,
    acc: FileAcc,
  ): void {
    if (resolved instanceof protobuf.Type || resolved instanceof protobuf.Enum) {
      d.type = resolved instanceof protobuf.Type ? TYPE_MESSAGE : TYPE_ENUM;
      d.typeName = absolute(resolved.fullName);
      reference(acc, resolved);
      return;
    }
    const scalar = SCALAR_TYPE[typeName];
    if (scalar === undefined) throw new Error(`unresolved type ${typeName}`);
    d.type = scalar;
  }

  const visit = (ns: protobuf.NamespaceBase) => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) {
        const acc = accOf(nested);
        acc.messageType.push(messageDescriptor(nested, acc));
      } else if (nested instanceof protobuf.Enum) {
        accOf(nested).enumType.push(enumDescriptor(nested));
      } else if (nested instanceof protobuf.Service) {
        const acc = accOf(nested);
        acc.service.push({
          name: nested.name,
          method: nested.methodsArray.map((m) => {
            m.resolve();
            const req = m.resolvedRequestType as protobuf.Type;
            const res = m.resolvedResponseType as protobuf.Type;
            reference(acc, req);
            reference(acc, res);
            return {
              name: m.name,
              inputType: absolute(req.fullName),
              outputType: absolute(res.fullName),
              clientStreaming: m.requestStream === true,
              serverStreaming: m.responseStream === true,
            };
          }),
        });
      } else if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  visit(root);

  // dependencies first, each once (a deterministic order: by name within a level)
  const ordered: FileAcc[] = [];
  const seen = new Set<string>();
  const place = (acc: FileAcc) => {
    if (seen.has(acc.name)) return;
    seen.add(acc.name);
    for (const dep of [...acc.deps].sort()) {
      const d = files.get(dep);
      if (d !== undefined) place(d);
    }
    ordered.push(acc);
  };
  for (const name of [...files.keys()].sort()) place(files.get(name) as FileAcc);

  return ordered.map((acc) =>
    FileDescriptorProto.encode(
      FileDescriptorProto.fromObject({
        name: acc.name,
        package: acc.pkg,
        dependency: [...acc.deps].sort(),
        messageType: acc.messageType,
        enumType: acc.enumType,
        service: acc.service,
        syntax: "proto3",
      }),
    ).finish(),
  );
}
