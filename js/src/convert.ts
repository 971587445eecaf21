/** Conversions from the JavaScript types callers hold to what the wasm layer takes. */

/** Bytes, or a string taken as its UTF-8 encoding. */
export type Bytes = Uint8Array | string;
/** A point in time: Unix seconds, or a `Date`. */
export type Time = number | Date;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const EMPTY = new Uint8Array(0);

export function bytes(value: Bytes | undefined): Uint8Array {
  if (value === undefined) return EMPTY;
  if (typeof value === 'string') return encoder.encode(value);
  if (value instanceof Uint8Array) return value;
  throw new TypeError('keyroll: expected a Uint8Array or a string');
}

export function utf8(value: Uint8Array): string {
  return decoder.decode(value);
}

/** Unix seconds; the wasm layer refuses anything but whole seconds in 0..2^53-1. */
export function seconds(value: Time | undefined): number {
  if (value === undefined) return Math.floor(Date.now() / 1000);
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  return value;
}

function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Parses core's serde JSON into camelCase objects; `null` fields are left out. */
export function fromJson<T>(json: string): T {
  return JSON.parse(json, (_key, value: unknown) => {
    if (value === null) return undefined;
    if (typeof value === 'object' && !Array.isArray(value)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[camel(k)] = v;
      return out;
    }
    return value;
  }) as T;
}
