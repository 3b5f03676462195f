import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { HpaFileError, parseHpaManifest, parseQuantity } from '../../src/capacity/hpa-manifest.js';

const fixture = new URL('./fixtures/api-hpa.yaml', import.meta.url);
const shipped = new URL('../../deploy/kubernetes/base/api-hpa.yaml', import.meta.url);

const manifest = (spec: string) => `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: api
spec:
${spec}`;

const problem = (text: string) => {
  try {
    parseHpaManifest(text, 'hpa.yaml');
  } catch (error) {
    if (error instanceof HpaFileError) return { field: error.field, message: error.message };
    throw error;
  }
  throw new Error('expected an HpaFileError');
};

describe('the HPA manifest', () => {
  it('When the fixture is read, then its metrics, bounds and behavior come out with the API defaults filled in', async () => {
    const { spec, notes } = parseHpaManifest(await readFile(fixture, 'utf8'), 'api-hpa.yaml');
    expect(spec).toMatchObject({ name: 'peakride-api', minReplicas: 2, maxReplicas: 40 });
    expect(spec.metrics).toEqual([
      {
        type: 'Pods',
        name: 'peakride_event_loop_utilization',
        target: { type: 'AverageValue', averageValue: 0.6 },
      },
      { type: 'Resource', name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
    ]);
    expect(spec.behavior?.scaleDown).toEqual({
      stabilizationWindowSeconds: 300,
      selectPolicy: 'Max',
      policies: [{ type: 'Percent', value: 10, periodSeconds: 60 }],
    });
    expect(notes).toEqual([]);
  });

  it('When the shipped manifest is read, then the model can run it (its default path)', async () => {
    const { spec } = parseHpaManifest(await readFile(shipped, 'utf8'), 'deploy/kubernetes/base/api-hpa.yaml');
    expect(spec.metrics.length).toBeGreaterThan(0);
    expect(spec.maxReplicas).toBeGreaterThanOrEqual(spec.minReplicas);
  });

  it("When behavior gives only scaleDown, then scaleUp gets the Kubernetes defaults, and scaleDown the controller's 300 s window", () => {
    const { spec } = parseHpaManifest(
      manifest(`  maxReplicas: 10
  behavior:
    scaleDown:
      policies: [{ type: Pods, value: 2, periodSeconds: 60 }]
`),
      'hpa.yaml',
    );
    expect(spec.minReplicas).toBe(1);
    expect(spec.metrics).toEqual([
      { type: 'Resource', name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
    ]);
    expect(spec.behavior?.scaleUp).toEqual({
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Max',
      policies: [
        { type: 'Pods', value: 4, periodSeconds: 15 },
        { type: 'Percent', value: 100, periodSeconds: 15 },
      ],
    });
    expect(spec.behavior?.scaleDown.stabilizationWindowSeconds).toBe(300);
  });

  it('When a memory metric is given, then it is left out with a note', () => {
    const { spec, notes } = parseHpaManifest(
      manifest(`  maxReplicas: 10
  metrics:
    - type: Resource
      resource: { name: memory, target: { type: Utilization, averageUtilization: 80 } }
    - type: Resource
      resource: { name: cpu, target: { type: AverageValue, averageValue: 700m } }
`),
      'hpa.yaml',
    );
    expect(spec.metrics).toEqual([
      { type: 'Resource', name: 'cpu', target: { type: 'AverageValue', averageValue: 0.7 } },
    ]);
    expect(notes[0]).toMatch(/memory is not modelled/);
  });

  it('When a field cannot be modelled or is wrong, then the error names the file and the field', () => {
    expect(problem(manifest('  minReplicas: 2\n'))).toMatchObject({ field: 'spec.maxReplicas' });
    expect(problem(manifest('  minReplicas: 5\n  maxReplicas: 2\n'))).toMatchObject({
      field: 'spec.maxReplicas',
    });
    expect(
      problem(manifest('  maxReplicas: 5\n  metrics:\n    - type: External\n      external: {}\n')),
    ).toMatchObject({ field: 'spec.metrics[0].type' });
    expect(
      problem(
        manifest(
          '  maxReplicas: 5\n  metrics:\n    - type: Pods\n      pods: { metric: { name: http_requests }, target: { type: AverageValue, averageValue: "10" } }\n',
        ),
      ),
    ).toMatchObject({ field: 'spec.metrics[0].pods.metric.name' });
    expect(
      problem(manifest('  maxReplicas: 5\n  behavior:\n    scaleUp:\n      selectPolicy: Fastest\n')),
    ).toMatchObject({ field: 'spec.behavior.scaleUp.selectPolicy' });
    expect(
      problem(
        manifest(
          '  maxReplicas: 5\n  behavior:\n    scaleDown:\n      policies: [{ type: Pods, value: 1, periodSeconds: 3600 }]\n',
        ),
      ),
    ).toMatchObject({ field: 'spec.behavior.scaleDown.policies[0].periodSeconds' });
    expect(problem('kind: Deployment\n')).toMatchObject({ field: 'kind' });
    expect(problem(': : :')).toMatchObject({ message: expect.stringMatching(/^hpa.yaml: not valid YAML/) });
  });

  it('When quantities are written in Kubernetes notation, then they are read as numbers', () => {
    expect(parseQuantity('600m')).toBeCloseTo(0.6);
    expect(parseQuantity('0.6')).toBeCloseTo(0.6);
    expect(parseQuantity(2)).toBe(2);
    expect(parseQuantity('1Ki')).toBe(1024);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('six')).toBeNaN();
  });
});
