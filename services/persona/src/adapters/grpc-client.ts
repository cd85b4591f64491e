import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import type {
  ApplyWindowsRequest,
  ApplyWindowsResponse,
  BatchGetPersonasRequest,
  BatchGetPersonasResponse,
  DeletePersonaRequest,
  DeletePersonaResponse,
  GetPersonaRequest,
  GetPersonaResponse,
  ListDimensionsRequest,
  ListDimensionsResponse,
  WatchPersonaRequest,
  WatchPersonaResponse,
} from '@personastream/contracts';
import {
  ApplyWindowsRequestSchema,
  BatchGetPersonasRequestSchema,
  DeletePersonaRequestSchema,
  GetPersonaRequestSchema,
  ListDimensionsRequestSchema,
  WatchPersonaRequestSchema,
} from '@personastream/contracts';
import type { ClientTls } from '@personastream/runtime';
import { personaServiceDefinition } from './grpc-server.js';

type Init<T> = Partial<Omit<T, '$typeName' | '$unknown'>>;

export interface CallOptions {
  /** Relative timeout, ms (sets the gRPC deadline). */
  timeoutMs?: number;
  metadata?: Record<string, string>;
}

/** A watch stream: iterate it; `cancel()` ends it. */
export interface WatchStream extends AsyncIterable<WatchPersonaResponse> {
  cancel(): void;
}

/** Typed promise client of `PersonaService` (rejects with grpc-js `ServiceError`s: `code`, `details`). */
export interface PersonaClient {
  getPersona(req: Init<GetPersonaRequest>, opts?: CallOptions): Promise<GetPersonaResponse>;
  batchGetPersonas(req: Init<BatchGetPersonasRequest>, opts?: CallOptions): Promise<BatchGetPersonasResponse>;
  watchPersona(req: Init<WatchPersonaRequest>, opts?: CallOptions): WatchStream;
  deletePersona(req: Init<DeletePersonaRequest>, opts?: CallOptions): Promise<DeletePersonaResponse>;
  applyWindows(req: Init<ApplyWindowsRequest>, opts?: CallOptions): Promise<ApplyWindowsResponse>;
  listDimensions(req: Init<ListDimensionsRequest>, opts?: CallOptions): Promise<ListDimensionsResponse>;
  /** The underlying grpc-js client. */
  readonly raw: grpc.Client;
  close(): void;
}

type UnaryFn = (
  req: unknown,
  md: grpc.Metadata,
  options: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: unknown) => void,
) => grpc.ClientUnaryCall;
type StreamFn = (req: unknown, md: grpc.Metadata, options: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;

/**
 * Channel credentials: TLS when `tls` is given — trusting its CA (else the system's CAs) and showing
 * its client certificate when it has one — or plaintext.
 */
export function grpcChannelCredentials(tls: ClientTls | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
}

/**
 * A client of the persona gRPC API at `address` (host:port), authenticating as the tenant whose
 * bearer `token` is given (empty: no token, for testing UNAUTHENTICATED); over TLS when `tls` is given
 * (see {@link grpcChannelCredentials}; `loadClientTls` reads the files).
 */
export function createPersonaClient(
  address: string,
  token: string,
  channelOptions: grpc.ChannelOptions = {},
  tls?: ClientTls,
): PersonaClient {
  const Ctor = grpc.makeGenericClientConstructor(personaServiceDefinition(), 'PersonaService');
  const client = new Ctor(address, grpcChannelCredentials(tls), channelOptions);
  const methods = client as unknown as Record<string, UnaryFn & StreamFn>;

  const meta = (opts?: CallOptions) => {
    const md = new grpc.Metadata();
    if (token) md.set('authorization', `Bearer ${token}`);
    for (const [k, v] of Object.entries(opts?.metadata ?? {})) md.set(k, v);
    return md;
  };
  const callOpts = (opts?: CallOptions): grpc.CallOptions =>
    opts?.timeoutMs !== undefined ? { deadline: Date.now() + opts.timeoutMs } : {};

  function unary<Res>(name: string, req: unknown, opts?: CallOptions): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      (methods[name] as UnaryFn).call(client, req, meta(opts), callOpts(opts), (err, res) =>
        err ? reject(err) : resolve(res as Res),
      );
    });
  }

  return {
    raw: client,
    getPersona: (req, opts) => unary('getPersona', create(GetPersonaRequestSchema, req), opts),
    batchGetPersonas: (req, opts) => unary('batchGetPersonas', create(BatchGetPersonasRequestSchema, req), opts),
    deletePersona: (req, opts) => unary('deletePersona', create(DeletePersonaRequestSchema, req), opts),
    applyWindows: (req, opts) => unary('applyWindows', create(ApplyWindowsRequestSchema, req), opts),
    listDimensions: (req, opts) => unary('listDimensions', create(ListDimensionsRequestSchema, req), opts),
    watchPersona(req, opts) {
      const call = (methods.watchPersona as StreamFn).call(
        client,
        create(WatchPersonaRequestSchema, req),
        meta(opts),
        callOpts(opts),
      );
      return {
        cancel: () => call.cancel(),
        async *[Symbol.asyncIterator]() {
          try {
            for await (const msg of call) yield msg as WatchPersonaResponse;
          } catch (err) {
            if ((err as grpc.ServiceError).code === grpc.status.CANCELLED) return;
            throw err;
          }
        },
      };
    },
    close: () => client.close(),
  };
}
