// Decodes the `message` of HMS notification events (written by DbNotificationListener).
// The JSON envelope comes from Jackson; the table objects inside it are Thrift TJSONProtocol.
import { gunzipSync } from 'node:zlib';
import thrift from 'thrift';
import hms from './gen/hive_metastore_types.js';
import { fromThriftTable } from './convert.ts';
import type { NotificationEvent, Table } from './types.ts';

export type DecodedEvent =
  | { type: 'CREATE_TABLE'; table: Table }
  | { type: 'ALTER_TABLE'; before: Table; after: Table; isTruncateOp: boolean }
  | { type: 'DROP_TABLE'; table: Table }
  | { type: 'OTHER'; eventType: string };

/** GzipJSONMessageEncoder, the HMS default: UTF-8 JSON, gzipped, then standard Base64. */
const GZIP_JSON_FORMAT = 'gzip(json-2.0)';
/** JSONMessageEncoder: plain JSON. */
const PLAIN_JSON_FORMAT = 'json-0.2';

export function decodeMessage(event: NotificationEvent): DecodedEvent {
  switch (event.eventType) {
    case 'CREATE_TABLE':
    case 'DROP_TABLE': {
      const body = messageJson(event);
      return { type: event.eventType, table: readTable(body, 'tableObjJson', event) };
    }
    case 'ALTER_TABLE': {
      const body = messageJson(event);
      return {
        type: 'ALTER_TABLE',
        before: readTable(body, 'tableObjBeforeJson', event),
        after: readTable(body, 'tableObjAfterJson', event),
        // Jackson writes this one as a string, "true" or "false".
        isTruncateOp: String(body.isTruncateOp) === 'true',
      };
    }
    default:
      return { type: 'OTHER', eventType: event.eventType };
  }
}

function messageJson(event: NotificationEvent): Record<string, unknown> {
  const format = event.messageFormat;
  if (format === GZIP_JSON_FORMAT) {
    return JSON.parse(gunzipSync(Buffer.from(event.message, 'base64')).toString('utf8'));
  }
  if (format === PLAIN_JSON_FORMAT) {
    return JSON.parse(event.message);
  }
  throw new Error(`event ${event.eventId} (${event.eventType}) has unsupported message format ${JSON.stringify(format)}`);
}

function readTable(body: Record<string, unknown>, field: string, event: NotificationEvent): Table {
  const json = body[field];
  if (typeof json !== 'string') {
    throw new Error(`event ${event.eventId} (${event.eventType}) has no ${field} in its message`);
  }
  try {
    return fromThriftTable(readThriftJson(json, new hms.Table()));
  } catch (cause) {
    throw new Error(`event ${event.eventId} (${event.eventType}): ${field} is not a Thrift JSON Table`, { cause });
  }
}

/** Generated structs have read(), but the generated .d.ts does not declare it. */
type ThriftReadable = { read(input: thrift.TProtocol): void };

/** Reads one struct serialized by Java's TSerializer with TJSONProtocol. */
function readThriftJson<T extends object>(json: string, struct: T): T {
  // node thrift's TJSONProtocol reads only whole messages, so the struct goes in as a message body.
  const message = `[1,"decode",${thrift.Thrift.MessageType.REPLY},0,${json}]`;
  const feed = thrift.TBufferedTransport.receiver((transport) => {
    const protocol = new thrift.TJSONProtocol(transport);
    protocol.readMessageBegin();
    (struct as T & ThriftReadable).read(protocol);
    protocol.readMessageEnd();
  }, 0);
  feed(Buffer.from(message, 'utf8'));
  return struct;
}
