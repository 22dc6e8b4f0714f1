import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { coordinatorArgDefaults, coordinatorServeArgs, coordinatorServeFlags } from '@rowshard/coordinator';
import { parseJobConfig } from '@rowshard/core';
import { parsePsArgs } from '@rowshard/ps';
import { repoRoot } from '@rowshard/testkit';
import { parseTrainerArgs } from '@rowshard/trainer';
import { parseArgv } from '@rowshard/transport';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

/**
 * deploy/k8s/: every object checked against the Kubernetes API schemas (kubernetes-models,
 * Kubernetes 1.27), with no field the schema does not know (a misspelt field would be dropped
 * by a lenient API server), and the wiring between them checked in code: names, selectors,
 * ports, probes, environment, secrets, volumes, the job's sizes, and each role's command line
 * through that role's own argument parser. No Kubernetes cluster ran these manifests here.
 */
const dir = join(repoRoot, 'deploy', 'k8s');
const models = {
  'v1/Secret': Secret,
  'v1/ConfigMap': ConfigMap,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
} as const;

// biome-ignore lint/suspicious/noExplicitAny: manifests are plain YAML, checked field by field below
type Obj = Record<string, any>;
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const objects: { file: string; obj: Obj }[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => ({ file, obj: d.toJSON() as Obj })),
);
const find = (kind: string, name: string): Obj => {
  const hit = objects.find((o) => o.obj.kind === kind && o.obj.metadata?.name === name);
  if (!hit) throw new Error(`no ${kind} named ${name} in deploy/k8s`);
  return hit.obj;
};

/** Validates with the model of its apiVersion/kind; throws the schema's errors. */
function validate(obj: Obj): void {
  const Model = models[`${obj.apiVersion}/${obj.kind}` as keyof typeof models];
  new Model(structuredClone(obj) as never).validate();
}

/** The schema errors' paths (JSON pointers), or [] when it validates. */
function errorPaths(obj: Obj): string[] {
  try {
    validate(obj);
    return [];
  } catch (e) {
    return ((e as { errors?: { instancePath: string }[] }).errors ?? []).map((x) => x.instancePath);
  }
}

/**
 * Fields the schema does not know. The validators check only the fields they know, so each
 * field is replaced in turn by a value of the wrong shape (an object by a number, anything
 * else by an object): a known field is then reported at its path, an unknown one is not.
 */
function unknownFields(obj: Obj): string[] {
  const unknown: string[] = [];
  const visit = (value: unknown, path: (string | number)[]) => {
    if (path.length > 0 && !(path.length === 1 && (path[0] === 'apiVersion' || path[0] === 'kind'))) {
      const probe = structuredClone(obj);
      let at: Obj = probe;
      for (const k of path.slice(0, -1)) at = at[k];
      at[path.at(-1) as string] = value !== null && typeof value === 'object' ? 12345 : { probe: true };
      const pointer = `/${path.map((k) => String(k).replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;
      if (!errorPaths(probe).includes(pointer)) {
        unknown.push(pointer);
        return; // what lies under an unknown field is unknown too
      }
    }
    if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) visit(v, [...path, Array.isArray(value) ? Number(k) : k]);
    }
  };
  visit(obj, []);
  return unknown;
}

const podSpec = (workload: Obj): Obj => workload.spec.template.spec;
const container = (workload: Obj): Obj => podSpec(workload).containers[0];
/** A container's environment as the kubelet gives it: values, secret keys, $(VAR) expanded. */
function environment(workload: Obj, podName: string): Record<string, string> {
  const env: Record<string, string> = {};
  const c = container(workload);
  for (const from of c.envFrom ?? []) Object.assign(env, find('Secret', from.secretRef.name).stringData);
  for (const e of c.env ?? []) {
    if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = podName;
    else env[e.name] = String(e.value).replace(/\$\((\w+)\)/g, (_, v: string) => env[v] ?? `$(${v})`);
  }
  return env;
}

const coordinator = find('Deployment', 'rowshard-coordinator');
const ps = find('StatefulSet', 'rowshard-ps');
const trainer = find('Job', 'rowshard-trainer');
const jobText = find('ConfigMap', 'rowshard-job').data['job.yaml'] as string;
const job = parseJobConfig(parse(jobText));

describe('deploy/k8s manifests', () => {
  it('are the files kustomization.yaml lists (the secrets aside), each object of a known apiVersion and kind', () => {
    const kustomization = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'));
    expect([...kustomization.resources, 'secrets.yaml'].sort()).toEqual([...files].sort());
    // The image every workload runs is the one kustomization.yaml points elsewhere.
    for (const workload of [coordinator, ps, trainer])
      expect(container(workload).image).toBe(`${kustomization.images[0].name}:latest`);
    for (const { file, obj } of objects)
      expect(Object.keys(models), `${file}: ${obj.kind}`).toContain(`${obj.apiVersion}/${obj.kind}`);
    expect(objects.map((o) => `${o.obj.kind}/${o.obj.metadata.name}`).sort()).toEqual([
      'ConfigMap/rowshard-job',
      'Deployment/rowshard-coordinator',
      'Job/rowshard-trainer',
      'PersistentVolumeClaim/rowshard-checkpoints',
      'Secret/rowshard-token',
      'Secret/rowshard-trainer-credential',
      'Service/rowshard-coordinator',
      'Service/rowshard-ps',
      'StatefulSet/rowshard-ps',
    ]);
  });

  it.each(objects.map((o) => [`${o.file}: ${o.obj.kind}/${o.obj.metadata?.name}`, o.obj]))(
    'validate against the Kubernetes API schema, with no unknown field: %s',
    (_name, obj) => {
      expect(() => validate(obj)).not.toThrow();
      expect(unknownFields(obj)).toEqual([]);
    },
  );

  it('the checks catch a wrong type and a misspelt field', () => {
    const wrongType = structuredClone(coordinator);
    wrongType.spec.replicas = 'one';
    expect(() => validate(wrongType)).toThrow(/spec\/replicas must be integer/);
    const misspelt = structuredClone(coordinator);
    misspelt.spec.template.spec.containers[0].readinesProbe = misspelt.spec.template.spec.containers[0].readinessProbe;
    expect(unknownFields(misspelt)).toEqual(['/spec/template/spec/containers/0/readinesProbe']);
  });

  it('services select their pods and reach named container ports; probes answer /healthz; Prometheus scrapes /metrics', () => {
    for (const [service, workload] of [
      [find('Service', 'rowshard-coordinator'), coordinator],
      [find('Service', 'rowshard-ps'), ps],
    ]) {
      expect(workload.spec.template.metadata.labels).toMatchObject(service.spec.selector);
      expect(workload.spec.selector.matchLabels).toEqual(workload.spec.template.metadata.labels);
      const ports = container(workload).ports;
      for (const p of service.spec.ports) expect(ports.map((x: Obj) => x.name)).toContain(p.targetPort);
      const port = ports[0];
      expect(service.spec.ports[0].port).toBe(port.containerPort);
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        expect(container(workload)[probe].httpGet).toEqual({ path: '/healthz', port: port.name });
      }
      expect(workload.spec.template.metadata.annotations).toEqual({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(port.containerPort),
        'prometheus.io/path': '/metrics',
      });
      // The port the container serves on is the one it is told to listen on.
      expect(environment(workload, 'pod').ROWSHARD_PORT).toBe(String(port.containerPort));
    }
    // The parameter servers' Service is headless: each pod keeps a DNS name of its own.
    const headless = find('Service', 'rowshard-ps');
    expect(headless.spec.clusterIP).toBe('None');
    expect(ps.spec.serviceName).toBe(headless.metadata.name);
    // Trainers serve nothing: no port, no probe, nothing to scrape.
    expect(container(trainer).ports).toBeUndefined();
    expect(container(trainer).readinessProbe).toBeUndefined();
  });

  it('every container asks for CPU and memory and runs as the image’s unprivileged user', () => {
    for (const workload of [coordinator, ps, trainer]) {
      expect(Object.keys(container(workload).resources.requests).sort()).toEqual(['cpu', 'memory']);
      expect(podSpec(workload).securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    }
  });

  it('the job: the same file as deploy/data/job.yaml, its sizes in the StatefulSet and the Job', () => {
    expect(jobText).toBe(readFileSync(join(repoRoot, 'deploy', 'data', 'job.yaml'), 'utf8'));
    expect(ps.spec.replicas).toBe(job.cluster.ps);
    expect(trainer.spec.parallelism).toBe(job.cluster.trainers);
    expect(trainer.spec.completions).toBe(job.cluster.trainers);
    const args = container(coordinator).args;
    const config = args[args.indexOf('--config') + 1];
    const mount = container(coordinator).volumeMounts.find((m: Obj) => config.startsWith(`${m.mountPath}/`));
    const volume = podSpec(coordinator).volumes.find((v: Obj) => v.name === mount.name);
    expect(volume.configMap.name).toBe('rowshard-job');
    expect(config.slice(mount.mountPath.length + 1)).toBe('job.yaml');
  });

  it('checkpoints: one ReadWriteMany claim mounted by the coordinator and every PS at the job’s checkpoint dir, under the PS’s root', () => {
    const claim = find('PersistentVolumeClaim', 'rowshard-checkpoints');
    expect(claim.spec.accessModes).toEqual(['ReadWriteMany']);
    const root = environment(ps, 'rowshard-ps-0').ROWSHARD_CHECKPOINT_ROOT;
    expect(job.checkpoint?.dir.startsWith(root)).toBe(true);
    for (const workload of [coordinator, ps]) {
      const volume = podSpec(workload).volumes.find((v: Obj) => v.persistentVolumeClaim?.claimName === claim.metadata.name);
      const mount = container(workload).volumeMounts.find((m: Obj) => m.name === volume.name);
      expect(mount.mountPath).toBe(root);
      expect(mount.readOnly).toBeUndefined();
    }
  });

  it('roles: each command line parses with the role’s own parser; the cluster token goes to the coordinator and the shards only', () => {
    const coordinatorUrl = `ws://${find('Service', 'rowshard-coordinator').metadata.name}:${find('Service', 'rowshard-coordinator').spec.ports[0].port}`;

    // The coordinator: `rowshard coordinator --config … --dashboard`, listening where the Service sends.
    const [role, ...rest] = container(coordinator).args;
    expect(role).toBe('coordinator');
    const values = parseArgv(rest, { config: { type: 'string' }, ...coordinatorServeFlags });
    expect(coordinatorServeArgs(values, environment(coordinator, 'c'), coordinatorArgDefaults)).toEqual({
      host: '0.0.0.0',
      port: 7070,
      dashboard: true,
    });
    expect(Object.keys(environment(coordinator, 'c'))).toContain('ROWSHARD_TOKEN');

    // A parameter server: the image's entry point with `ps --shard <ordinal>`, run through sh
    // as the pod runs it, with the pod's name for its host name.
    const dockerfile = readFileSync(join(repoRoot, 'deploy', 'Dockerfile'), 'utf8');
    const entrypoint = (JSON.parse(/^ENTRYPOINT (.*)$/m.exec(dockerfile)?.[1] ?? '[]') as string[]).join(' ');
    const [sh, dashC, script] = container(ps).command;
    expect([sh, dashC]).toEqual(['sh', '-c']);
    expect(script.startsWith(`exec ${entrypoint} ps `)).toBe(true);
    for (const ordinal of [0, 1, 12]) {
      const pod = `${ps.metadata.name}-${ordinal}`;
      const argv = spawnSync('sh', ['-c', script.replace(`exec ${entrypoint} `, "printf '%s\\n' ")], {
        env: { ...process.env, HOSTNAME: pod },
        encoding: 'utf8',
      })
        .stdout.trim()
        .split('\n');
      expect(argv).toEqual(['ps', '--shard', String(ordinal)]);
      const parsed = parsePsArgs(argv.slice(1), environment(ps, pod));
      expect(parsed).toMatchObject({
        coordinator: coordinatorUrl,
        shard: ordinal,
        name: pod,
        advertise: `${pod}.${ps.spec.serviceName}`,
        host: '0.0.0.0',
        port: 7080,
        checkpointRoot: '/checkpoints',
      });
    }
    expect(Object.keys(environment(ps, 'rowshard-ps-0'))).toContain('ROWSHARD_TOKEN');

    // A trainer: its credential only.
    expect(container(trainer).args).toEqual(['trainer']);
    const trainerEnv = environment(trainer, 't');
    expect(Object.keys(trainerEnv).sort()).toEqual(['ROWSHARD_COORDINATOR', 'ROWSHARD_ROLE_TOKEN']);
    expect(parseTrainerArgs([], trainerEnv)).toMatchObject({ coordinator: coordinatorUrl });
    expect(trainer.spec.template.spec.restartPolicy).toBe('OnFailure');
  });
});
