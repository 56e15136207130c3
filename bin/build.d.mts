/** The build of the sources as they are now: made once per change of src/, then reused. */
export function prebuilt(): Promise<{ main: URL; worker: URL }>;
/** The task worker of the build this process started from (bin/hive-kafka.mjs made it). */
export function builtWorker(): URL;
