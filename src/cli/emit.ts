// `neurite launch --emit k8s|slurm`: the job as a Kubernetes Indexed Job or a
// Slurm batch script instead of processes here. Both run the same two
// commands: the task of index 0 is the launcher (rank 0, the parameter
// servers in async mode, the run folder) with --local-workers 1, and every
// other task runs `neurite worker`, which takes the next free rank.

/** What the emitted job runs. */
export interface EmitPlan {
  /** Workers in all: tasks of the Indexed Job or the Slurm allocation. */
  readonly workers: number;
  /** The job's id in Redis (also the Kubernetes and Slurm job name's suffix). */
  readonly job: string;
  /** The Redis every task reaches. */
  readonly redis: string;
  /** The launcher's arguments after `launch` (its own flags without --emit, --image, --local-workers, --job; then the target and its arguments). */
  readonly launchArgs: readonly string[];
  /** `neurite worker`'s arguments beyond --redis and --job (--threads, --timeout). */
  readonly workerArgs: readonly string[];
  /** Backend threads per task: the CPUs each asks for. */
  readonly threads: number;
}

/** One word for a POSIX shell: as it is when it is safe, else single-quoted. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function commands(plan: EmitPlan): { launcher: string; worker: string } {
  const launcher = ['npx', 'neurite', 'launch', '--local-workers', '1', '--job', plan.job, ...plan.launchArgs].map(shellQuote).join(' ');
  const worker = ['npx', 'neurite', 'worker', '--redis', plan.redis, '--job', plan.job, ...plan.workerArgs].map(shellQuote).join(' ');
  return { launcher, worker };
}

/** A shell line that runs the launcher where `indexVariable` is 0 and a worker elsewhere. */
function roleSwitch(plan: EmitPlan, indexVariable: string): string {
  const { launcher, worker } = commands(plan);
  return `if [ "$${indexVariable}" = 0 ]; then exec ${launcher}; else exec ${worker}; fi`;
}

/** A Kubernetes Indexed Job: one pod per worker, each told its index by JOB_COMPLETION_INDEX. */
export function kubernetesJob(plan: EmitPlan, image: string): string {
  const name = `neurite-${plan.job}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63);
  return `# neurite training job: ${plan.workers} workers meeting on ${plan.redis}.
# Apply with: kubectl apply -f <this file>. The image must hold the project
# (neurite and its data installed by npm install) as its working directory;
# pod 0 is the launcher and writes the run folder under runs/ there: mount a
# volume on it to keep the run. Every pod must reach the Redis, and in sync
# mode the other pods at its IP (NEURITE_GLOO_HOST).
apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}
  labels:
    app.kubernetes.io/name: neurite
spec:
  completionMode: Indexed
  completions: ${plan.workers}
  parallelism: ${plan.workers}
  backoffLimit: 0
  template:
    metadata:
      labels:
        app.kubernetes.io/name: neurite
    spec:
      restartPolicy: Never
      containers:
        - name: neurite
          image: ${JSON.stringify(image)}
          command: ["sh", "-c"]
          args:
            - |
              ${roleSwitch(plan, 'JOB_COMPLETION_INDEX')}
          env:
            - name: NEURITE_GLOO_HOST
              valueFrom:
                fieldRef:
                  fieldPath: status.podIP
          resources:
            requests:
              cpu: "${plan.threads}"
`;
}

/** A Slurm batch script: srun starts one task per worker, each told its index by SLURM_PROCID. */
export function slurmScript(plan: EmitPlan): string {
  return `#!/bin/bash
# neurite training job: ${plan.workers} workers meeting on ${plan.redis}.
# Submit with: sbatch <this file>, from the project folder (neurite installed
# by npm install, the same version on every node). Task 0 is the launcher and
# writes the run folder under runs/ there; every node must reach the Redis,
# and in sync mode the other nodes at its hostname (or NEURITE_GLOO_HOST).
#SBATCH --job-name=neurite-${plan.job}
#SBATCH --ntasks=${plan.workers}
#SBATCH --cpus-per-task=${plan.threads}
set -e
srun bash -c ${shellQuote(roleSwitch(plan, 'SLURM_PROCID'))}
`;
}
