// SPDX-License-Identifier: Apache-2.0
// docs/openapi.yaml describes exactly the wallet HTTP API of shared/wallet-messages.ts: the same
// routes, the same error codes as shared/errors.ts, and request/response schemas that match the zod
// schemas. No YAML library: the document keeps to a small subset of YAML (described at its top),
// which parseYaml() below reads and which it rejects loudly when broken.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ERRORS, ERROR_CODES, isErrorCode } from '../shared/errors.ts';
import {
  credentialRequest,
  credentialResponse,
  enrollRequest,
  issuerKeysDocument,
  enrollResponse,
  errorBody,
  historyResponse,
  onlineCodeResponse,
  timeSyncRequest,
  timeSyncResponse,
  topupRequest,
  walletInfo,
  walletRoutes,
} from '../shared/wallet-messages.ts';

type RouteName = keyof typeof walletRoutes;

/** Which zod schema is each route's request body (none: the route takes no body) and 200 body. */
const contract: Record<RouteName, { request?: z.ZodObject; response: z.ZodObject }> = {
  enroll: { request: enrollRequest, response: enrollResponse },
  info: { response: walletInfo },
  topup: { request: topupRequest, response: walletInfo },
  onlineCode: { response: onlineCodeResponse },
  credential: { request: credentialRequest, response: credentialResponse },
  history: { response: historyResponse },
  time: { request: timeSyncRequest, response: timeSyncResponse },
  issuerKeys: { response: issuerKeysDocument },
};

// ---- A parser for the YAML subset of docs/openapi.yaml --------------------------------------------

type Yaml = null | boolean | number | string | Yaml[] | { [key: string]: Yaml };
type YamlMap = { [key: string]: Yaml };

const KEY = "'(?:[^']|'')*'|[A-Za-z0-9_$/.{}-]+";
const ENTRY = new RegExp(`^(${KEY}):(?: (.*))?$`);
const IS_ENTRY = new RegExp(`^(${KEY}):( |$)`);

function parseYaml(src: string): Yaml {
  const lines = src.split('\n');
  let i = 0;
  const fail = (msg: string): never => {
    throw new Error(`openapi.yaml line ${i + 1}: ${msg}`);
  };
  /** The next line with content (skipping blank lines and comments), without consuming it. */
  const peek = (): { indent: number; text: string } | undefined => {
    for (; i < lines.length; i++) {
      const raw = lines[i]!;
      const text = raw.trim();
      if (text === '' || text.startsWith('#')) continue;
      const indent = raw.length - raw.trimStart().length;
      if (raw.slice(0, indent).includes('\t')) fail('tab in indentation');
      return { indent, text };
    }
    return undefined;
  };
  const scalar = (s: string): Yaml => {
    if (s.startsWith("'")) {
      const m = /^'((?:[^']|'')*)'$/.exec(s);
      return m ? m[1]!.replaceAll("''", "'") : fail(`bad single-quoted scalar: ${s}`);
    }
    if (s.startsWith('"')) return fail('double-quoted scalars are outside the subset; use single quotes');
    if (s === '[]') return [];
    if (s === '{}') return {};
    if (s.startsWith('[')) {
      if (!s.endsWith(']')) fail(`bad flow sequence: ${s}`);
      return s
        .slice(1, -1)
        .split(',')
        .map((x) => scalar(x.trim()));
    }
    if (/^[&*!|>%@`{\]},-]/.test(s) && !/^-\d/.test(s)) fail(`plain scalar starts with an indicator: ${s}`);
    if (s.includes(': ') || s.includes(' #') || s.endsWith(':')) fail(`plain scalar needs quotes: ${s}`);
    if (s === 'true' || s === 'false') return s === 'true';
    if (s === 'null' || s === '~') return null;
    if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
    return s;
  };
  /** A literal block scalar (| or |-) belonging to a key at `parent` indentation. */
  const literal = (parent: number, strip: boolean): string => {
    const out: string[] = [];
    let indent = -1;
    for (; i < lines.length; i++) {
      const raw = lines[i]!;
      if (raw.trim() === '') {
        out.push('');
        continue;
      }
      const n = raw.length - raw.trimStart().length;
      if (indent < 0) indent = n;
      if (n < indent) break;
      out.push(raw.slice(indent).trimEnd());
    }
    if (indent <= parent) fail('literal block must be indented deeper than its key');
    while (out.length > 0 && out[out.length - 1] === '') out.pop();
    return out.join('\n') + (strip ? '' : '\n');
  };
  const block = (indent: number): Yaml => {
    const l = peek();
    if (!l || l.indent !== indent) return fail('expected a block');
    return l.text === '-' || l.text.startsWith('- ') ? seq(indent) : map(indent);
  };
  const nested = (parent: number): Yaml => {
    const l = peek();
    if (!l || l.indent <= parent) return fail('empty value; write null, [] or {} explicitly');
    return block(l.indent);
  };
  const map = (indent: number): YamlMap => {
    const out: YamlMap = {};
    for (let l = peek(); l && l.indent === indent; l = peek()) {
      const m = ENTRY.exec(l.text) ?? fail(`not a "key: value" line: ${l.text}`);
      const key = m[1]!.startsWith("'") ? (scalar(m[1]!) as string) : m[1]!;
      if (Object.hasOwn(out, key)) fail(`duplicate key ${key}`);
      const rest = m[2]?.trim() ?? '';
      i++;
      if (rest === '') out[key] = nested(indent);
      else if (rest === '|' || rest === '|-') out[key] = literal(indent, rest === '|-');
      else out[key] = scalar(rest);
    }
    const l = peek();
    if (l && l.indent > indent) fail('unexpected indentation');
    return out;
  };
  const seq = (indent: number): Yaml[] => {
    const out: Yaml[] = [];
    for (let l = peek(); l && l.indent === indent && l.text.startsWith('- '); l = peek()) {
      const rest = l.text.slice(2).trim();
      if (IS_ENTRY.test(rest)) {
        // "- key: value" opens a mapping whose keys line up with `key`.
        lines[i] = ' '.repeat(indent + 2) + rest;
        out.push(map(indent + 2));
      } else {
        i++;
        out.push(scalar(rest));
      }
    }
    const l = peek();
    if (l && l.indent > indent) fail('unexpected indentation');
    return out;
  };
  const doc = block(0);
  if (peek()) fail('content after the document');
  return doc;
}

// ---- Helpers over the parsed document -------------------------------------------------------------

const doc = parseYaml(readFileSync(new URL('../docs/openapi.yaml', import.meta.url), 'utf8'));

function asMap(x: Yaml | undefined, where: string): YamlMap {
  if (x === null || x === undefined || typeof x !== 'object' || Array.isArray(x)) throw new Error(`${where}: expected a mapping`);
  return x;
}

/** Follows local `$ref`s ('#/components/...') until a node that is not a reference. */
function deref(x: Yaml | undefined, where: string): YamlMap {
  let node = asMap(x, where);
  for (let hops = 0; typeof node['$ref'] === 'string'; hops++) {
    const ref = node['$ref'];
    if (hops > 20 || !ref.startsWith('#/')) throw new Error(`${where}: bad $ref ${ref}`);
    let target: Yaml | undefined = doc;
    for (const part of ref.slice(2).split('/')) target = asMap(target, ref)[part];
    node = asMap(target, `${where} -> ${ref}`);
  }
  return node;
}

const root = asMap(doc, 'document');
const paths = asMap(root['paths'], 'paths');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

interface Operation {
  method: string;
  path: string;
  op: YamlMap;
}
const operations: Operation[] = Object.entries(paths).flatMap(([path, item]) =>
  Object.entries(asMap(item, path))
    .filter(([k]) => METHODS.includes(k))
    .map(([method, op]) => ({ method: method.toUpperCase(), path, op: asMap(op, `${method} ${path}`) })),
);

function operationOf(name: RouteName): YamlMap {
  const found = operations.find((o) => o.op['operationId'] === name);
  if (!found) throw new Error(`no operation with operationId ${name}`);
  return found.op;
}

function jsonSchemaOf(holder: Yaml | undefined, where: string): YamlMap {
  return deref(asMap(asMap(asMap(holder, where)['content'], where)['application/json'], where)['schema'], where);
}
const requestSchema = (op: YamlMap, where: string) => jsonSchemaOf(deref(op['requestBody'], where), where);
const responseSchema = (op: YamlMap, status: string, where: string) =>
  jsonSchemaOf(deref(asMap(op['responses'], where)[status], where), where);

/**
 * A schema reduced to what both sides state: references resolved, documentation (description,
 * examples) dropped, `required` sorted, enums sorted, and the safe-integer bounds that zod adds to
 * every z.int() dropped.
 */
function canonical(x: unknown, where: string): unknown {
  if (Array.isArray(x)) return x.map((v, i) => canonical(v, `${where}[${i}]`));
  if (x === null || typeof x !== 'object') return x;
  const node = Object.hasOwn(x, '$ref') ? deref(x as Yaml, where) : (x as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'description' || k === 'examples' || k === '$schema') continue;
    if ((k === 'minimum' || k === 'maximum') && Math.abs(v as number) === Number.MAX_SAFE_INTEGER) continue;
    if (k === 'properties') {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([p, s]) => [p, canonical(s, `${where}.${p}`)]));
    } else if (k === 'required' || k === 'enum') {
      const list = [...(v as unknown[])].map(String).sort();
      if (list.length > 0) out[k] = list;
    } else {
      out[k] = canonical(v, `${where}.${k}`);
    }
  }
  return out;
}

// ---- The tests ------------------------------------------------------------------------------------

const routeNames = Object.keys(walletRoutes) as RouteName[];
const needsToken = (path: string) => path === '/v1/wallet' || path.startsWith('/v1/wallet/');

describe('docs/openapi.yaml', () => {
  it('is an OpenAPI 3.1 document', () => {
    expect(String(root['openapi'])).toMatch(/^3\.1\.\d+$/);
  });

  it('has exactly the paths and methods of walletRoutes', () => {
    const documented = operations.map((o) => `${o.method} ${o.path}`).sort();
    const routes = Object.values(walletRoutes)
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    expect(documented).toEqual(routes);
  });

  it.each(routeNames)('documents route %s under its own operationId, method and path', (name) => {
    const found = operations.filter((o) => o.op['operationId'] === name).map((o) => ({ method: o.method, path: o.path }));
    expect(found).toEqual([{ method: walletRoutes[name].method, path: walletRoutes[name].path }]);
  });

  it('lists exactly the error codes of shared/errors.ts', () => {
    const codes = deref(asMap(asMap(root['components'], 'components')['schemas'], 'schemas')['ErrorCode'], 'ErrorCode')['enum'];
    expect(Array.isArray(codes) ? [...codes].map(String).sort() : codes).toEqual([...ERROR_CODES].sort());
  });

  it('describes the error body exactly as the zod errorBody schema', () => {
    const schema = deref(asMap(asMap(root['components'], 'components')['schemas'], 'schemas')['Error'], 'Error');
    expect(canonical(schema, 'Error')).toEqual(canonical(z.toJSONSchema(errorBody), 'errorBody'));
  });

  it('has a request and a response contract in this test for every route', () => {
    expect(Object.keys(contract).sort()).toEqual([...routeNames].sort());
  });

  describe.each(routeNames)('route %s', (name) => {
    const op = operationOf(name);
    const { request, response } = contract[name];

    it('has the top-level request properties of the zod schema (or no body)', () => {
      if (!request) return expect(op['requestBody']).toBeUndefined();
      const props = asMap(requestSchema(op, name)['properties'], `${name} request properties`);
      expect(Object.keys(props).sort()).toEqual(Object.keys(request.shape).sort());
    });

    it('has the top-level 200 response properties of the zod schema', () => {
      const props = asMap(responseSchema(op, '200', name)['properties'], `${name} response properties`);
      expect(Object.keys(props).sort()).toEqual(Object.keys(response.shape).sort());
    });

    it('matches the zod schemas field by field (types, required, strictness, enums, patterns, bounds)', () => {
      if (request)
        expect(canonical(requestSchema(op, name), `${name} request`)).toEqual(canonical(z.toJSONSchema(request, { io: 'input' }), 'zod'));
      expect(canonical(responseSchema(op, '200', name), `${name} 200`)).toEqual(canonical(z.toJSONSchema(response), 'zod'));
    });

    it('requires the bearer token exactly on /v1/wallet and /v1/wallet/*', () => {
      const path = walletRoutes[name].path;
      expect(op['security']).toEqual(needsToken(path) ? [{ bearerAuth: [] }] : []);
    });

    it('lists the statuses the server can return, each with the error body and a code of that status', () => {
      const responses = asMap(op['responses'], `${name} responses`);
      const statuses = Object.keys(responses).map(Number);
      const possible = new Set([200, ...Object.values(ERRORS).map((e) => e.http)]);
      for (const s of statuses) expect(possible, `${name}: status ${s}`).toContain(s);
      // Every route can be rate-limited or fail; bodies are size-capped and JSON-parsed on POST.
      const expected = [200, 429, 500];
      if (walletRoutes[name].method === 'POST') expected.push(400, 413);
      if (needsToken(walletRoutes[name].path)) expected.push(401);
      for (const s of expected) expect(statuses, `${name} documents ${s}`).toContain(s);
      for (const s of statuses.filter((x) => x !== 200)) {
        const where = `${name} ${s}`;
        const resp = deref(responses[String(s)], where);
        expect(canonical(jsonSchemaOf(resp, where), where)).toEqual(canonical(z.toJSONSchema(errorBody), 'errorBody'));
        const named = [...String(resp['description']).matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!).filter(isErrorCode);
        expect(named.length, `${where} names its error code`).toBeGreaterThan(0);
        for (const code of named) expect({ code, http: ERRORS[code].http }).toEqual({ code, http: s });
      }
    });
  });

  it('defines bearerAuth as HTTP bearer authentication', () => {
    const schemes = asMap(asMap(root['components'], 'components')['securitySchemes'], 'securitySchemes');
    expect(asMap(schemes['bearerAuth'], 'bearerAuth')).toMatchObject({ type: 'http', scheme: 'bearer' });
  });
});

describe('parseYaml (the subset used by docs/openapi.yaml)', () => {
  it('reads mappings, sequences, quoted and plain scalars and literal blocks', () => {
    const src = "a: 1\nb: 'x: ''y'''\nc:\n  - p\n  - k: v\n    l: [m, n]\nd: |\n  one\n\n  two\ne: -3\n";
    expect(parseYaml(src)).toEqual({ a: 1, b: "x: 'y'", c: ['p', { k: 'v', l: ['m', 'n'] }], d: 'one\n\ntwo\n', e: -3 });
  });

  it('rejects what it does not understand', () => {
    expect(() => parseYaml('a: b: c\n')).toThrow(/quotes/);
    expect(() => parseYaml('a: 1\na: 2\n')).toThrow(/duplicate/);
    expect(() => parseYaml('a:\n  b: 1\n    c: 2\n')).toThrow(/indentation/);
    expect(() => parseYaml('a: "x"\n')).toThrow(/single quotes/);
    expect(() => parseYaml('a:\nb: 1\n')).toThrow(/empty value/);
  });
});
