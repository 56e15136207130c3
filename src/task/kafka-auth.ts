// Kafka client security from a credentials profile of the service config. Secrets live there, never
// in TBLPROPERTIES (anyone with DESCRIBE can read those); a table only names its profile.
//   "credentialsProfiles": { "analytics": { "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
//                                            "sasl.username": "...", "sasl.password": "..." } }
import type { SASLOptions } from 'kafkajs';

export type CredentialsProfiles = Record<string, Record<string, string>>;

export interface KafkaAuth { ssl?: boolean; sasl?: SASLOptions }

const MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/** The kafkajs ssl/sasl settings; throws naming `owner` (e.g. "table db.t") and the profile when unusable. */
export function kafkaAuth(owner: string, profileName: string | undefined, profiles: CredentialsProfiles): KafkaAuth {
  if (profileName === undefined) return {};
  const profile = profiles[profileName];
  if (!profile) {
    throw new Error(`${owner}: kafka.credentials.profile '${profileName}' is not defined in the service config; add it under credentialsProfiles`);
  }
  const protocol = (profile['security.protocol'] ?? 'SASL_PLAINTEXT').toUpperCase();
  if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(protocol)) {
    throw new Error(`credentials profile '${profileName}': security.protocol '${protocol}' is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL`);
  }
  const auth: KafkaAuth = { ssl: protocol.endsWith('SSL') };
  if (protocol.startsWith('SASL')) {
    const mechanism = (profile['sasl.mechanism'] ?? '').toLowerCase();
    const username = profile['sasl.username'];
    const password = profile['sasl.password'];
    if (!(MECHANISMS as readonly string[]).includes(mechanism) || username === undefined || password === undefined) {
      throw new Error(`credentials profile '${profileName}': SASL needs sasl.mechanism (${MECHANISMS.join(', ')}), sasl.username and sasl.password`);
    }
    auth.sasl = { mechanism: mechanism as (typeof MECHANISMS)[number], username, password } as SASLOptions;
  }
  return auth;
}
