import { createHash } from 'node:crypto';
import { type DescMessage, type DescMethod, fromBinary, type MessageShape, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import {
  ErrorCode,
  file_personastream_v1_events,
  file_personastream_v1_persona,
  file_personastream_v1_persona_service,
  file_personastream_v1_windows,
  PersonaService,
  PersonaStreamError,
  splitTenantTokens,
} from '@personastream/contracts';
import type { Logger, ServerTls } from '@personastream/runtime';
import { HealthImplementation } from 'grpc-health-check';
import { type Caller, encodingOf, type PersonaApi } from '../service.js';

/** Full name of the gRPC service. */
export const PERSONA_SERVICE_NAME = PersonaService.typeName;

// ---- service definition from the protobuf-es descriptor ------------------------------------------

function methodDefinition(m: DescMethod): grpc.MethodDefinition<unknown, unknown> {
  const input = m.input as DescMessage;
  const output = m.output as DescMessage;
  return {
    path: `/${PersonaService.typeName}/${m.name}`,
    requestStream: m.methodKind === 'client_streaming' || m.methodKind === 'bidi_streaming',
    responseStream: m.methodKind === 'server_streaming' || m.methodKind === 'bidi_streaming',
    requestSerialize: (v: unknown) => Buffer.from(toBinary(input, v as MessageShape<DescMessage>)),
    requestDeserialize: (b: Buffer) => fromBinary(input, b),
    responseSerialize: (v: unknown) => {
      const pre = encodingOf(v);
      return pre
        ? Buffer.from(pre.buffer, pre.byteOffset, pre.byteLength)
        : Buffer.from(toBinary(output, v as MessageShape<DescMessage>));
    },
    responseDeserialize: (b: Buffer) => fromBinary(output, b),
    originalName: m.localName,
  };
}

/**
 * grpc-js service definition of `PersonaService`, built from the protobuf-es descriptor; keys are the
 * methods' local names (getPersona, batchGetPersonas, …) and messages travel as protobuf-es objects.
 */
export function personaServiceDefinition(): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const m of PersonaService.methods) def[m.localName] = methodDefinition(m);
  return def as grpc.ServiceDefinition;
}

/** What server reflection serves: the file descriptors of the service and its imports. */
function reflectionPackage(): Record<string, { fileDescriptorProtos: Buffer[] }> {
  const files = [
    file_personastream_v1_events,
    file_personastream_v1_windows,
    file_personastream_v1_persona,
    file_personastream_v1_persona_service,
  ];
  const fileDescriptorProtos = files.map((f) => Buffer.from(toBinary(FileDescriptorProtoSchema, f.proto)));
  return { [PersonaService.typeName]: { fileDescriptorProtos } };
}

// ---- auth ----------------------------------------------------------------------------------------

/** Tenant tokens, hashed: sha256(token) hex → tenant. Plain tokens are never kept. */
export type TenantTokens = ReadonlyMap<string, string>;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Parses `tenant:token,tenant2:token2` into hashed tokens; a malformed entry or an invalid tenant id
 * (see `TENANT_ID_PATTERN`) throws an error that names PERSONA_TENANT_TOKENS and the entry, never a token.
 */
export function parseTenantTokens(spec: string): TenantTokens {
  const { pairs, problems } = splitTenantTokens(spec, { requireOne: true });
  if (problems.length > 0) throw new Error(`PERSONA_TENANT_TOKENS: ${problems.join('; ')}`);
  const out = new Map<string, string>();
  for (const { tenant, token } of pairs) out.set(hashToken(token), tenant);
  return out;
}

function authenticate(metadata: grpc.Metadata, tokens: TenantTokens): Caller {
  const header = metadata.get('authorization')[0];
  const value = typeof header === 'string' ? header : header ? header.toString('utf8') : '';
  const match = /^Bearer\s+(.+)$/i.exec(value.trim());
  if (!match?.[1])
    throw new PersonaStreamError(ErrorCode.Unauthenticated, 'missing bearer token in "authorization" metadata');
  const tenant = tokens.get(hashToken(match[1]));
  if (!tenant) throw new PersonaStreamError(ErrorCode.Unauthenticated, 'invalid bearer token');
  return { tenant };
}

// ---- errors and deadlines ------------------------------------------------------------------------

const STATUS: Record<ErrorCode, grpc.status> = {
  [ErrorCode.InvalidArgument]: grpc.status.INVALID_ARGUMENT,
  [ErrorCode.NotFound]: grpc.status.NOT_FOUND,
  [ErrorCode.Unauthenticated]: grpc.status.UNAUTHENTICATED,
  [ErrorCode.PermissionDenied]: grpc.status.PERMISSION_DENIED,
  [ErrorCode.ResourceExhausted]: grpc.status.RESOURCE_EXHAUSTED,
  [ErrorCode.Unavailable]: grpc.status.UNAVAILABLE,
  [ErrorCode.FailedPrecondition]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.DeadlineExceeded]: grpc.status.DEADLINE_EXCEEDED,
  [ErrorCode.Internal]: grpc.status.INTERNAL,
};

function toStatus(err: unknown, logger?: Logger): Partial<grpc.StatusObject> {
  if (err instanceof PersonaStreamError) {
    const metadata = new grpc.Metadata();
    if (err.field) metadata.set('x-field', err.field);
    return { code: STATUS[err.code] ?? grpc.status.UNKNOWN, details: err.message, metadata };
  }
  logger?.error({ err }, 'internal error in gRPC handler');
  return { code: grpc.status.INTERNAL, details: 'internal error' };
}

function deadlineOf(call: { getDeadline(): grpc.Deadline }): number {
  const d = call.getDeadline();
  if (d instanceof Date) return d.getTime();
  return typeof d === 'number' && Number.isFinite(d) ? d : Number.POSITIVE_INFINITY;
}

const deadlineError = () => new PersonaStreamError(ErrorCode.DeadlineExceeded, 'deadline exceeded');

/** Resolves with `work` or rejects with DEADLINE_EXCEEDED at the call's deadline, whichever first. */
function withDeadline<T>(deadline: number, work: () => Promise<T>): Promise<T> {
  const left = deadline - Date.now();
  if (left <= 0) return Promise.reject(deadlineError());
  if (!Number.isFinite(left)) return work();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(deadlineError()), left);
    work().then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

// ---- server --------------------------------------------------------------------------------------

export interface GrpcServerOptions {
  /** Port (0: ephemeral). Default 50051. */
  port?: number;
  /** Bind address. Default 127.0.0.1. */
  host?: string;
  tokens: TenantTokens;
  logger?: Logger;
  /** Unary calls in flight before RESOURCE_EXHAUSTED. Default 10,000. */
  maxInFlight?: number;
  /** Serve TLS with this certificate (and require client certificates when it has a client CA); default plaintext. */
  tls?: ServerTls;
}

/** The server credentials of `tls`: TLS (mutual when it names a client CA), or plaintext when undefined. */
export function grpcServerCredentials(tls: ServerTls | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(
    tls.clientCa ?? null,
    [{ private_key: tls.key, cert_chain: tls.cert }],
    tls.clientCa !== undefined,
  );
}

export interface RunningGrpcServer {
  server: grpc.Server;
  port: number;
  address: string;
  health: HealthImplementation;
  /** Marks NOT_SERVING, then shuts down (forcing after `graceMs`, default 5 s). */
  close(graceMs?: number): Promise<void>;
}

/**
 * Serves a `PersonaApi` over gRPC: all six RPCs, bearer-token auth per tenant, deadlines, standard
 * health (`grpc.health.v1`) and server reflection.
 */
export async function startGrpcServer(api: PersonaApi, opts: GrpcServerOptions): Promise<RunningGrpcServer> {
  const logger = opts.logger;
  const maxInFlight = opts.maxInFlight ?? 10_000;
  let inFlight = 0;
  // channelz (a debugging registry that tracks every call) is off: it costs CPU on every request.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.enable_channelz': 0 });

  const unary = <Req, Res>(fn: (caller: Caller, req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> => {
    return (call, callback) => {
      const deadline = deadlineOf(call);
      if (inFlight >= maxInFlight) {
        callback(
          toStatus(new PersonaStreamError(ErrorCode.ResourceExhausted, `too many calls in flight (${maxInFlight})`)),
          null,
        );
        return;
      }
      inFlight++;
      withDeadline(deadline, async () => fn(authenticate(call.metadata, opts.tokens), call.request))
        .then(
          (res) => callback(null, res),
          (err: unknown) => callback(toStatus(err, logger), null),
        )
        .finally(() => {
          inFlight--;
        });
    };
  };

  const handlers: grpc.UntypedServiceImplementation = {
    getPersona: unary(api.getPersona.bind(api)),
    batchGetPersonas: unary(api.batchGetPersonas.bind(api)),
    deletePersona: unary(api.deletePersona.bind(api)),
    applyWindows: unary(api.applyWindows.bind(api)),
    listDimensions: unary(api.listDimensions.bind(api)),
    watchPersona: ((call: grpc.ServerWritableStream<Parameters<PersonaApi['watchPersona']>[1], unknown>) => {
      const abort = new AbortController();
      const deadline = deadlineOf(call);
      let timer: NodeJS.Timeout | undefined;
      const fail = (err: unknown) => {
        if (!abort.signal.aborted) abort.abort();
        call.emit('error', toStatus(err, logger));
      };
      call.on('cancelled', () => abort.abort());
      void (async () => {
        try {
          if (deadline <= Date.now()) throw deadlineError();
          const caller = authenticate(call.metadata, opts.tokens);
          const stream = api.watchPersona(caller, call.request, abort.signal);
          if (Number.isFinite(deadline)) {
            timer = setTimeout(() => fail(deadlineError()), deadline - Date.now());
          }
          for await (const msg of stream) {
            if (abort.signal.aborted) break;
            if (!call.write(msg)) await new Promise<void>((resolve) => call.once('drain', () => resolve()));
          }
          if (!abort.signal.aborted) call.end();
        } catch (err) {
          fail(err);
        } finally {
          if (timer) clearTimeout(timer);
        }
      })();
    }) as grpc.handleServerStreamingCall<unknown, unknown>,
  };
  server.addService(personaServiceDefinition(), handlers);

  const health = new HealthImplementation({ '': 'SERVING', [PersonaService.typeName]: 'SERVING' });
  health.addToServer(server);
  new ReflectionService(reflectionPackage() as never).addToServer(server);

  const host = opts.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${opts.port ?? 50051}`, grpcServerCredentials(opts.tls), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  logger?.info({ port, host, tls: opts.tls?.summary ?? 'off (plaintext)' }, 'gRPC server listening');
  return {
    server,
    port,
    address: `${host}:${port}`,
    health,
    async close(graceMs = 5000) {
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(PersonaService.typeName, 'NOT_SERVING');
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
