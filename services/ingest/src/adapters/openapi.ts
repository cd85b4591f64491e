/** The OpenAPI 3 document of the ingest HTTP API, served at `/openapi.json`. */
export function openApiDocument(limits: { maxBatch: number; maxBytes: number }): Record<string, unknown> {
  const errorList = {
    type: 'array',
    items: { $ref: '#/components/schemas/EventError' },
  };
  const reply = (description: string) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/IngestReply' } } },
  });
  const refusal = (description: string, headers?: Record<string, unknown>) => ({
    description,
    ...(headers ? { headers } : {}),
    content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorReply' } } },
  });
  const retryAfter = { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } } };
  const responses = {
    '200': reply('Processed: valid events accepted (after Kafka acks=all), invalid ones listed in `errors`'),
    '400': reply('Every event was rejected (`errors` says why), or the body is not a batch (ErrorReply)'),
    '401': refusal('No API key, or an unknown one'),
    '403': refusal("The key's tenant differs from the path tenant or from an event's `tenant`"),
    '409': refusal(
      'Events of a finite run that has ended (`run_ended`, `errors` lists them): nothing of the request was accepted',
    ),
    '413': refusal(
      `Body larger than ${limits.maxBytes} bytes (decompressed, for a gzip body) or more than ${limits.maxBatch} events`,
    ),
    '415': refusal('Not JSON, or a Content-Encoding other than gzip (x-gzip) and identity'),
    '429': refusal("Past the tenant's rate limit (events per second)", retryAfter),
    '503': refusal('Kafka did not acknowledge: nothing of the request was accepted; retry', retryAfter),
  };
  const tenantParam = {
    name: 'tenant',
    in: 'path',
    required: true,
    description: "Tenant id; must be the API key's tenant",
    schema: { type: 'string' },
  };
  const contentEncoding = {
    name: 'Content-Encoding',
    in: 'header',
    required: false,
    description: `gzip (or x-gzip): the body is inflated as it arrives; the ${limits.maxBytes}-byte limit applies to the inflated bytes`,
    schema: { type: 'string', enum: ['gzip', 'x-gzip', 'identity'] },
  };
  const op = (summary: string, schemaRef: string, description: string) => ({
    summary,
    description,
    parameters: [contentEncoding],
    security: [{ bearer: [] }, { apiKey: [] }, { basic: [] }],
    requestBody: {
      required: true,
      content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaRef}` } } },
    },
    responses,
  });
  const routes: Record<string, Record<string, unknown>> = {
    events: op(
      'Send a batch of native events',
      'NativeBatch',
      `Up to ${limits.maxBatch} BehaviorEvent objects (proto3 JSON, camelCase or snake_case) or ${limits.maxBytes} bytes. Partial acceptance: valid events are accepted, invalid ones returned in errors with index, field and reason.`,
    ),
    track: op(
      'Segment track',
      'SegmentMessage',
      'One Segment track message (E-commerce spec event names map to event types).',
    ),
    page: op('Segment page', 'SegmentMessage', 'One Segment page message → PAGE_VIEW.'),
    screen: op('Segment screen', 'SegmentMessage', 'One Segment screen message → PAGE_VIEW.'),
    identify: op(
      'Segment identify',
      'SegmentMessage',
      'One Segment identify message → IDENTIFY (personal traits dropped).',
    ),
    batch: op('Segment batch', 'SegmentBatch', `Up to ${limits.maxBatch} Segment messages of any supported type.`),
  };
  const paths: Record<string, unknown> = {};
  for (const [name, operation] of Object.entries(routes)) {
    paths[`/v1/${name}`] = { post: { ...operation, operationId: name } };
    paths[`/v1/tenants/{tenant}/${name}`] = {
      post: { ...operation, operationId: `${name}ForTenant`, parameters: [tenantParam, contentEncoding] },
    };
  }
  const runIdParam = {
    name: 'runId',
    in: 'path',
    required: true,
    description: 'A finite run of the key\'s tenant (1–256 characters, no control characters; not "live")',
    schema: { type: 'string', maxLength: 256 },
  };
  const endRun = {
    summary: "End one of the key's tenant's finite runs",
    description:
      'Marks the run (tenant, runId) ended on every ingest replica — from then on its events are refused with 409 run_ended — waits until no replica has a send of it in flight, then writes an EndOfRun marker (with the tenant and the records ingest wrote to that partition) to every partition of the events topic, so downstream stages flush the run. The live run never ends (409 live_run_never_ends). Idempotent: a retry writes the markers again.',
    security: [{ bearer: [] }, { apiKey: [] }, { basic: [] }],
    responses: {
      '200': {
        description: 'Markers acknowledged by Kafka',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              properties: {
                partitions: { type: 'integer', description: 'Partitions that got a marker' },
                records: { type: 'integer', description: 'Records of the run written by ingest before the markers' },
              },
            },
          },
        },
      },
      '400': refusal('Not a valid run id'),
      '401': responses['401'],
      '403': responses['403'],
      '409': refusal('The run is the live run, which never ends (`live_run_never_ends`)'),
      '503': refusal(
        'Sends of the run still in flight after the end timeout, the run coordinator unreachable, or the markers not acknowledged; the run stays ended, retry the call',
        retryAfter,
      ),
    },
  };
  paths['/v1/runs/{runId}/end'] = { post: { ...endRun, operationId: 'endRun', parameters: [runIdParam] } };
  paths['/v1/tenants/{tenant}/runs/{runId}/end'] = {
    post: { ...endRun, operationId: 'endRunForTenant', parameters: [tenantParam, runIdParam] },
  };
  paths['/healthz'] = {
    get: { operationId: 'health', summary: 'Liveness', responses: { '200': { description: 'ok' } } },
  };
  paths['/metrics'] = {
    get: {
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      responses: { '200': { description: 'text format' } },
    },
  };

  return {
    openapi: '3.0.3',
    info: {
      title: 'PersonaStream ingest API',
      version: '1.0.0',
      description:
        'Accepts behaviour events of real platforms (native batches and Segment-compatible track/page/identify/batch), validates them with per-event errors, and writes the valid ones to Kafka. A 200 answer is given only after Kafka acknowledged (acks=all). Event ids (messageId) make retries idempotent.',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <api key>' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        basic: { type: 'http', scheme: 'basic', description: 'Segment style: the key as user name, empty password' },
      },
      schemas: {
        EventError: {
          type: 'object',
          required: ['index', 'field', 'reason'],
          properties: {
            index: { type: 'integer', description: 'Position of the event in the request (-1: the body)' },
            field: {
              type: 'string',
              description: "Field path, e.g. user_id, item.price, properties.product_id ('' = whole event)",
            },
            reason: {
              type: 'string',
              enum: [
                'required',
                'invalid_type',
                'invalid_format',
                'unknown_value',
                'out_of_range',
                'too_long',
                'unsupported',
                'too_large',
                'tenant_mismatch',
                'run_ended',
              ],
            },
          },
        },
        IngestReply: {
          type: 'object',
          required: ['accepted', 'duplicates', 'rejected', 'errors'],
          properties: {
            accepted: { type: 'integer', description: 'Events written and acknowledged in this request' },
            duplicates: { type: 'integer', description: 'Events whose id was already accepted (not written again)' },
            rejected: { type: 'integer', description: 'Incoming events rejected' },
            errors: errorList,
          },
        },
        ErrorReply: {
          type: 'object',
          required: ['error', 'message'],
          properties: { error: { type: 'string' }, message: { type: 'string' }, errors: errorList },
        },
        BehaviorEvent: {
          type: 'object',
          required: ['eventId', 'userId', 'eventTimeMs', 'type'],
          properties: {
            eventId: { type: 'string', description: 'Unique id (idempotency key)' },
            tenant: { type: 'string', description: "Optional; must equal the key's tenant" },
            userId: { type: 'string' },
            eventTimeMs: { type: 'number', description: 'Epoch milliseconds' },
            type: {
              type: 'string',
              description: 'EVENT_TYPE_* name, short name (ITEM_VIEW) or number',
              example: 'EVENT_TYPE_ITEM_VIEW',
            },
            item: {
              type: 'object',
              properties: {
                id: { type: 'string' },
                categoryPath: { type: 'array', items: { type: 'string' } },
                brand: { type: 'string' },
                price: { type: 'number', minimum: 0 },
                currency: { type: 'string', pattern: '^[A-Z]{3}$' },
                title: { type: 'string' },
              },
            },
            query: { type: 'string' },
            context: {
              type: 'object',
              properties: {
                device: { type: 'string', enum: ['mobile', 'desktop', 'tablet'] },
                sessionId: { type: 'string' },
                channel: { type: 'string' },
                userAgent: { type: 'string' },
                locale: { type: 'string' },
              },
            },
            properties: { type: 'object', additionalProperties: { type: 'string' } },
            dwellMs: { type: 'number', minimum: 0 },
            rating: { type: 'integer', minimum: 0, maximum: 5 },
            quantity: { type: 'integer', minimum: 0 },
            runId: { type: 'string', description: 'Default: the batch run_id, else INGEST_DEFAULT_RUN_ID ("live")' },
          },
        },
        NativeBatch: {
          oneOf: [
            {
              type: 'object',
              required: ['events'],
              properties: {
                events: {
                  type: 'array',
                  maxItems: limits.maxBatch,
                  items: { $ref: '#/components/schemas/BehaviorEvent' },
                },
                run_id: { type: 'string' },
              },
            },
            { type: 'array', maxItems: limits.maxBatch, items: { $ref: '#/components/schemas/BehaviorEvent' } },
          ],
        },
        SegmentMessage: {
          type: 'object',
          properties: {
            type: { type: 'string', enum: ['track', 'page', 'screen', 'identify'] },
            messageId: { type: 'string' },
            userId: { type: 'string' },
            anonymousId: { type: 'string' },
            event: { type: 'string', example: 'Product Viewed' },
            name: { type: 'string' },
            timestamp: { type: 'string', format: 'date-time' },
            properties: { type: 'object' },
            traits: { type: 'object' },
            context: { type: 'object' },
          },
        },
        SegmentBatch: {
          type: 'object',
          required: ['batch'],
          properties: {
            batch: { type: 'array', maxItems: limits.maxBatch, items: { $ref: '#/components/schemas/SegmentMessage' } },
            context: { type: 'object' },
          },
        },
      },
    },
  };
}
