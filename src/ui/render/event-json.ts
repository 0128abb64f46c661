import { type DecodedEvent, formatKind } from '../../format/event.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The JSON shape of one event in dump output (docs/CLI.md). */
export interface EventRecord {
  seq: number;
  eventId: string;
  entity: string;
  scope: string;
  kind: string;
  clock: number;
  wallMs: number;
  txnId: number;
  causationId: string | null;
  correlationId: string | null;
  prevHash: string;
  eventHash: string;
  /** Parsed JSON when the payload is JSON; else its text; else absent (see payloadBase64). */
  payload?: unknown;
  payloadEncoding: 'json' | 'text' | 'base64';
  payloadBase64?: string;
}

export function eventRecord(e: DecodedEvent): EventRecord {
  const r: EventRecord = {
    seq: e.seq,
    eventId: e.eventId,
    entity: e.entity,
    scope: e.scope,
    kind: formatKind(e.kind.category, e.kind.type),
    clock: e.clock,
    wallMs: e.wallMs,
    txnId: e.txnId,
    causationId: e.causationId,
    correlationId: e.correlationId,
    prevHash: e.prevHash,
    eventHash: e.eventHash,
    payloadEncoding: 'json',
  };
  let text: string;
  try {
    text = decoder.decode(e.payload);
  } catch {
    r.payloadEncoding = 'base64';
    r.payloadBase64 = Buffer.from(e.payload).toString('base64');
    return r;
  }
  try {
    r.payload = text.length === 0 ? null : JSON.parse(text);
  } catch {
    r.payloadEncoding = 'text';
    r.payload = text;
  }
  return r;
}

/** One human-readable line per event. */
export function eventLine(e: DecodedEvent): string {
  let payload: string;
  try {
    payload = decoder.decode(e.payload);
  } catch {
    payload = `<${e.payload.length} bytes, not UTF-8>`;
  }
  if (payload.length > 120) payload = `${payload.slice(0, 117)}...`;
  const txn = e.txnId ? ` txn=${e.txnId}` : '';
  return `#${e.seq} ${e.entity} ${e.scope} kind=${formatKind(e.kind.category, e.kind.type)} clock=${e.clock} wall=${new Date(e.wallMs).toISOString()}${txn} id=${e.eventId} ${payload}`;
}
