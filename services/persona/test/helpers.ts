import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import * as grpc from '@grpc/grpc-js';

/** Reads a required env var set by `personastream infra up` (`.infra/env`), failing clearly without it. */
export function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) {
    throw new Error(
      `${name} is not set: start the local stack ("npx personastream infra up") and load its env ("set -a; . .infra/env; set +a") before the integration tests`,
    );
  }
  return v;
}

/** A unique suffix per test run, so parallel runs never share topics, groups or key prefixes. */
export function uniqueSuffix(): string {
  return `${process.pid}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/**
 * Lists services through gRPC server reflection (v1), encoding the two messages by hand:
 * ServerReflectionRequest{host=1, list_services=7} → ServerReflectionResponse{list_services_response=6{service=1{name=1}}}.
 */
export function listServicesByReflection(address: string): Promise<string[]> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<string[]>((resolve, reject) => {
    const call = client.makeBidiStreamRequest(
      '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
      (b: Buffer) => b,
      (b: Buffer) => b,
    );
    call.on('data', (buf: Buffer) => {
      const names: string[] = [];
      const r = new BinaryReader(buf);
      while (r.pos < r.len) {
        const [field, wire] = r.tag();
        if (field === 6) {
          const inner = new BinaryReader(r.bytes());
          while (inner.pos < inner.len) {
            const [f2, w2] = inner.tag();
            if (f2 === 1) {
              const svc = new BinaryReader(inner.bytes());
              while (svc.pos < svc.len) {
                const [f3, w3] = svc.tag();
                if (f3 === 1) names.push(svc.string());
                else svc.skip(w3);
              }
            } else inner.skip(w2);
          }
        } else r.skip(wire);
      }
      call.end();
      client.close();
      resolve(names);
    });
    call.on('error', (err) => {
      client.close();
      reject(err);
    });
    call.write(Buffer.from(new BinaryWriter().uint32(58).string('*').finish()));
  });
}

/** Calls grpc.health.v1.Health/Check; returns the status number (1 = SERVING). */
export function healthCheck(address: string, service = ''): Promise<number> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<number>((resolve, reject) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(new BinaryWriter().uint32(10).string(service).finish()),
      (err, res) => {
        client.close();
        if (err || !res) return reject(err ?? new Error('no response'));
        const r = new BinaryReader(res);
        let status = 0;
        while (r.pos < r.len) {
          const [field, wire] = r.tag();
          if (field === 1) status = r.int32();
          else r.skip(wire);
        }
        resolve(status);
      },
    );
  });
}
