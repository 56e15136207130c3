// Hive partition directory names, escaped exactly as Hive's FileUtils.escapePathName escapes them
// (common/src/java/org/apache/hadoop/hive/common/FileUtils.java, the same list in the metastore's
// copy), so a directory we write is the one Hive itself would have made for those values.
//
// Safety: every segment is `escaped key=escaped value`. '/' is always escaped and every segment
// contains a literal '=', so no segment can be empty, '.', '..' or hold a separator, and the joined
// path stays under the table location whatever the values are (checked again before returning).

/** What Hive stores, and names the directory, for a NULL or empty partition value. */
export const defaultPartitionName = '__HIVE_DEFAULT_PARTITION__';

// Hive's charToEscape: every control character 0x00-0x1F, DEL, and " # % ' * / : = ? \ { [ ] ^.
// Nothing else is escaped: spaces and non-ASCII characters stay as they are.
const charsToEscape = /[\x00-\x1f\x7f"#%'*/:=?\\{[\]^]/g;

/** FileUtils.escapePathName for a non-empty value: each listed character becomes %XX (upper-case hex). */
export function escapePathName(value: string): string {
  return value.replace(charsToEscape, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** FileUtils.unescapePathName: every %XX (hex) becomes its character, anything else is kept. */
export function unescapePathName(name: string): string {
  return name.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** One directory level, `key=value`, as FileUtils.makePartName builds it (key lower-cased). */
export function partitionSegment(key: string, value: string | null | undefined): string {
  if (key === '') throw new Error('a partition key name must not be empty');
  const escapedValue = value === null || value === undefined || value === '' ? defaultPartitionName : escapePathName(value);
  return `${escapePathName(key.toLowerCase())}=${escapedValue}`;
}

/**
 * The partition directory relative to the table location, e.g. `dt=2024-01-01/country=US`.
 * NULL, undefined and '' values get Hive's default partition name.
 */
export function partitionDir(keys: readonly string[], values: readonly (string | null | undefined)[]): string {
  if (keys.length === 0) throw new Error('partitionDir needs at least one partition key');
  if (keys.length !== values.length) {
    throw new Error(`partition keys (${keys.join(', ')}) and values (${values.length} of them) do not match`);
  }
  const segments = keys.map((key, i) => partitionSegment(key, values[i]));
  for (const [i, segment] of segments.entries()) {
    // Unreachable with the escaping above; kept so a future edit cannot silently open a path escape.
    if (segment.includes('/') || segment === '.' || segment === '..' || !segment.includes('=')) {
      throw new Error(`partition directory for key "${keys[i]}" would leave the table location: ${segment}`);
    }
    const value = values[i];
    if (typeof value === 'string' && !value.isWellFormed()) {
      throw new Error(`partition value for key "${keys[i]}" is not well-formed Unicode (it has a lone surrogate)`);
    }
  }
  return segments.join('/');
}

/**
 * The partition's location for the metastore and the file system: table location + '/' + directory.
 * Takes the location as the metastore stores it (e.g. `file:/warehouse/t` or `hdfs://nn/warehouse/t`).
 */
export function partitionLocation(tableLocation: string, dir: string): string {
  if (dir.split('/').some((segment) => segment === '' || segment === '.' || segment === '..' || !segment.includes('='))) {
    throw new Error(`not a partition directory: ${JSON.stringify(dir)}`);
  }
  return `${tableLocation.replace(/\/+$/, '')}/${dir}`;
}
