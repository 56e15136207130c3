// Which task owns which Kafka partitions: a pure function of the table and its topic, so the
// supervisor only compares plans (as Kafka Connect's Connector.taskConfigs does).

export interface TaskAssignment { taskId: string; partitions: number[] }

/** min(partitions, maxNumTasks) tasks; partition p goes to task p mod n, so adding partitions moves none. */
export function planTasks(partitionCount: number, maxNumTasks: number): TaskAssignment[] {
  const n = Math.max(1, Math.min(partitionCount, maxNumTasks));
  const tasks = Array.from({ length: n }, (_, i) => ({ taskId: `task-${i}`, partitions: [] as number[] }));
  for (let p = 0; p < partitionCount; p++) tasks[p % n]!.partitions.push(p);
  return tasks.filter((t) => t.partitions.length > 0);
}

export function samePlan(a: readonly TaskAssignment[], b: readonly TaskAssignment[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
