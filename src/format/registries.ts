// Which Schema Registry a table reads its writer schemas from: kafka.schema.registry.url, or a
// schemaRegistries profile of the service config (where credentials live). One client per registry
// and worker thread, so tables sharing a registry share its schema cache.
import type { StreamSpec } from '../properties/parse.ts';
import { SchemaRegistryClient } from './schema-registry.ts';

export interface RegistryProfile { url: string; username?: string; password?: string }
export type RegistryProfiles = Record<string, RegistryProfile>;

export interface SchemaRegistryLookup {
  /** Throws naming the table and the profile when the profile is not in the service config. */
  forTable(table: string, spec: Pick<StreamSpec, 'schemaRegistry'>): SchemaRegistryClient;
}

export function schemaRegistries(profiles: RegistryProfiles): SchemaRegistryLookup {
  const clients = new Map<string, SchemaRegistryClient>();
  return {
    forTable(table, spec) {
      const where = spec.schemaRegistry;
      if (!where) throw new Error(`table ${table}: kafka.value.format=avro needs kafka.schema.registry.url or kafka.schema.registry.profile`);
      let profile: RegistryProfile;
      if ('profile' in where) {
        const found = profiles[where.profile];
        if (!found) throw new Error(`table ${table}: kafka.schema.registry.profile '${where.profile}' is not defined in the service config; add it under schemaRegistries`);
        profile = found;
      } else {
        profile = { url: where.url };
      }
      const key = `${profile.url} ${profile.username ?? ''}`;
      let client = clients.get(key);
      if (!client) {
        client = new SchemaRegistryClient({ url: profile.url, auth: profile.username !== undefined ? { username: profile.username, password: profile.password ?? '' } : undefined });
        clients.set(key, client);
      }
      return client;
    },
  };
}
