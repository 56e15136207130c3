// Runs HiveQL through real beeline. BEELINE_CMD (a shell command, e.g. a java ... BeeLine -u ... line)
// overrides the project's test/stack/beeline.sh. Returns the result rows as tsv, without a header.
import { execFile } from 'node:child_process';

const beelineCommand = process.env.BEELINE_CMD ?? 'bash test/stack/beeline.sh';

export function runBeeline(sql: string): Promise<string> {
  return beeline(['-e', sql], sql);
}

/** For scripts with `--` comments: beeline -e drops a statement that starts with a comment line. */
export function runBeelineFile(path: string): Promise<string> {
  return beeline(['-f', path], path);
}

function beeline(input: string[], sql: string): Promise<string> {
  const args = ['--silent=true', '--showHeader=false', '--outputformat=tsv2', ...input];
  return new Promise((resolve, reject) => {
    // bash -c so BEELINE_CMD may hold quoting and $(...); the SQL travels as a separate argument.
    const command = ['-c', `${beelineCommand} "$@"`, 'beeline', ...args];
    execFile('bash', command, { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const problems = stderr.split('\n').filter((line) => !/ (INFO|WARN) /.test(line)).join('\n').trim();
      reject(new Error(`beeline failed for: ${sql}\n${problems || error.message}`));
    });
  });
}
