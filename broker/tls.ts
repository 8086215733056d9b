// SPDX-License-Identifier: Apache-2.0
// TLS for the embedded broker (node:tls, no server factory): the listener's options, and the rule
// that ties a client certificate to a login. With client certificates required, a client must
// present a certificate signed by the configured CA whose subject CN equals its MQTT username, AND
// the identity's password: the certificate proves the device, the password the identity file entry.
import { TLSSocket, type TlsOptions } from 'node:tls';

/** PEM text or bytes, as read from a file. */
export type Pem = string | Buffer;

export interface BrokerTlsOptions {
  /** The broker's certificate chain (PEM). */
  readonly cert: Pem;
  /** The broker's private key (PEM). */
  readonly key: Pem;
  /** CA certificate(s) that sign client certificates (PEM); default: Node's public roots. */
  readonly ca?: Pem;
  /**
   * Ask clients for a certificate. One that is presented must verify against `ca` and carry the
   * username as its CN, or the login is refused; a client without one logs in by password alone.
   */
  readonly requestClientCert?: boolean;
  /** Refuse the TLS handshake of a client without a valid certificate (implies requestClientCert). */
  readonly requireClientCert?: boolean;
}

/** The validated, frozen form: which certificate policy applies. */
export type ClientCertPolicy = 'none' | 'optional' | 'required';

export function clientCertPolicy(tls: BrokerTlsOptions): ClientCertPolicy {
  if (tls.requireClientCert) return 'required';
  return tls.requestClientCert ? 'optional' : 'none';
}

function isPem(x: unknown): x is Pem {
  return (typeof x === 'string' || Buffer.isBuffer(x)) && x.length > 0 && String(x).includes('-----BEGIN ');
}

/**
 * The options for tls.createServer. Throws an Error naming the bad field when cert, key or ca is
 * not PEM, or a client certificate is required without a CA to check it against.
 */
export function tlsServerOptions(tls: BrokerTlsOptions, handshakeTimeoutMs: number): TlsOptions {
  if (!isPem(tls.cert)) throw new Error('tls.cert must be a PEM certificate');
  if (!isPem(tls.key)) throw new Error('tls.key must be a PEM private key');
  if (tls.ca !== undefined && !isPem(tls.ca)) throw new Error('tls.ca must be PEM certificate(s)');
  const policy = clientCertPolicy(tls);
  if (policy !== 'none' && tls.ca === undefined) throw new Error('client certificates need tls.ca, the CA that signs them');
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    minVersion: 'TLSv1.2',
    requestCert: policy !== 'none',
    // Required: the handshake itself fails without a certificate the CA signed.
    rejectUnauthorized: policy === 'required',
    handshakeTimeout: handshakeTimeoutMs,
  };
}

/** Why a login is refused because of its certificate, or undefined when the certificate rule holds. */
export function certificateRefusal(socket: unknown, policy: ClientCertPolicy, username: string): string | undefined {
  if (policy === 'none') return undefined;
  if (!(socket instanceof TLSSocket)) return 'not a TLS connection';
  const cert = socket.getPeerCertificate();
  const presented = cert !== null && typeof cert === 'object' && Object.keys(cert).length > 0;
  if (!presented) return policy === 'required' ? 'no client certificate' : undefined;
  if (!socket.authorized) return `client certificate not trusted (${String(socket.authorizationError)})`;
  const cn = cert.subject?.CN;
  // A subject with several CNs arrives as an array: never a match.
  if (typeof cn !== 'string' || cn !== username) return 'client certificate CN does not match the username';
  return undefined;
}
