/** The bare grpc-js baseline: a unary Echo service over a one-message proto (written to a temp file). */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ECHO_SERVICE = "bench.v1.EchoService";
const PROTO = `syntax = "proto3";
package bench.v1;
message EchoRequest { string message = 1; }
message EchoResponse { string message = 1; }
service EchoService { rpc Echo(EchoRequest) returns (EchoResponse); }
`;

let file: string | null = null;
/** Path of the echo proto (written once per process). */
export function ECHO_PROTO_FILE(): string {
  if (file === null) {
    file = join(mkdtempSync(join(tmpdir(), "memcg-sim-bench-")), "echo.proto");
    writeFileSync(file, PROTO);
  }
  return file;
}
