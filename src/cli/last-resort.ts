// The service's main thread still ends on an error nothing else caught, as Node does, but it says so
// in its own log first, with the error. Ending is the safe answer: after such an error its state is
// not known, while a restart resumes every table from the ledger at its next offset, so a process
// supervisor (systemd's Restart=on-failure, README "Running it as a system service") brings it back
// with nothing lost or written twice.
import type { Logger } from 'pino';

export const EXIT_UNEXPECTED = 70; // EX_SOFTWARE

export function exitOnUnexpected(log: Logger, exit: (code: number) => void = (code) => process.exit(code)): void {
  const fatal = (what: string) => (err: unknown) => {
    log.fatal({ err }, `${what}: hive-kafka stops (exit ${EXIT_UNEXPECTED}); started again, it resumes every table from the ledger at its next offset`);
    exit(EXIT_UNEXPECTED);
  };
  process.on('uncaughtException', fatal('an error nothing caught'));
  process.on('unhandledRejection', fatal('a promise rejection nothing handled'));
}
