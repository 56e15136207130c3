// A topic's offsets through kafkajs's admin (ListOffsets), for a new table's start and a task's log
// start. kafkajs answers a topic whose partitions have no leader yet (created a moment before) with
// a bare TypeError ("Cannot destructure property 'partitions' of 'low.pop(...)'"), which it does not
// retry: that one case is tried again here after a short wait, then reported naming the topic.
/** Waits between tries (ms); a new topic's leaders are elected within a second on one broker. */
export const LEADERLESS_WAITS_MS = [250, 500, 1000];

export class TopicNotReadyError extends Error {
  constructor(readonly topic: string, next: string, cause: Error) {
    super(`Kafka topic "${topic}" has partitions without a leader (a topic created a moment ago, or a broker down): `
      + `its offsets could not be read after ${LEADERLESS_WAITS_MS.length + 1} tries; ${next} (kafkajs: ${cause.message})`, { cause });
    this.name = 'TopicNotReadyError';
  }
}

/** `next` says what the caller does when the topic stays without a leader, for the error's reader. */
export async function topicOffsets<T>(topic: string, next: string, read: () => Promise<T>, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read();
    } catch (e) {
      // kafkajs's own errors (KafkaJS*) are meaningful as they are; only its TypeError is this case.
      if (!(e instanceof TypeError)) throw e;
      const wait = LEADERLESS_WAITS_MS[attempt];
      if (wait === undefined) throw new TopicNotReadyError(topic, next, e);
      await sleep(wait);
    }
  }
}
