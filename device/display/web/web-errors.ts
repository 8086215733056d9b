// SPDX-License-Identifier: Apache-2.0
// The closed table of errors the kiosk's web screen answers with. Local to the screen's HTTP API
// (the protocol's codes live in shared/errors.ts): each code has one HTTP status and a meaning.
// Every error body is `{ ok: false, error: { code, message } }`.

export const WEB_ERRORS = {
  NOT_FOUND: { http: 404, meaning: 'No such route (every /sim route is absent on a real kiosk).' },
  METHOD_NOT_ALLOWED: { http: 405, meaning: 'The route exists but not with this method.' },
  FORBIDDEN_ORIGIN: { http: 403, meaning: 'The request came from another site or named another host.' },
  UNSUPPORTED_MEDIA_TYPE: {
    http: 415,
    meaning: 'The body is not of the type the route takes (application/json, or image/png for /sim/image).',
  },
  BODY_TOO_LARGE: { http: 413, meaning: 'The body is larger than the route accepts.' },
  MALFORMED_JSON: { http: 400, meaning: 'The body is not valid JSON.' },
  INVALID_BODY: { http: 400, meaning: 'The JSON does not match the route schema.' },
  IMAGE_UNREADABLE: { http: 422, meaning: 'The PNG could not be decoded.' },
  IMAGE_TOO_LARGE: { http: 413, meaning: 'The PNG has more pixels than the screen decodes.' },
  NO_QR_FOUND: { http: 422, meaning: 'No QR code was found in the image.' },
  NOT_READY: { http: 503, meaning: 'The kiosk has not drawn its first view yet.' },
  BUSY: { http: 503, meaning: 'Another image is being decoded; retry.' },
  TOO_MANY_CLIENTS: { http: 503, meaning: 'The screen already serves its maximum of live event streams.' },
  INTERNAL: { http: 500, meaning: 'The kiosk did not accept the action.' },
} as const satisfies Record<string, { http: number; meaning: string }>;

export type WebErrorCode = keyof typeof WEB_ERRORS;

export class WebScreenError extends Error {
  override readonly name = 'WebScreenError';
  constructor(
    readonly code: WebErrorCode,
    message: string = WEB_ERRORS[code].meaning,
  ) {
    super(message);
  }

  get http(): number {
    return WEB_ERRORS[this.code].http;
  }
}
