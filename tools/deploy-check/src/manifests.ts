/**
 * Rendering kustomize directories and validating every object against the Kubernetes (and CRD) schemas of
 * the kubernetes-models packages. Offline: kubectl's built-in kustomize and the schemas in node_modules.
 *
 * Two checks per object: the package's JSON-schema validator (types, formats, required fields), and a strict
 * check that every field is one the schema declares. The validator alone accepts unknown fields, as the API
 * server did before field validation: a typo such as `replcas` would pass it and be dropped on apply. The
 * declared fields come from the package's TypeScript interfaces, generated from the same OpenAPI schemas, read
 * through the TypeScript compiler's checker.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';

/** A rendered object, before validation: only what every object has is typed. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

interface Validatable {
  validate(): void;
}

/**
 * Every kind the manifests may contain, by `apiVersion/kind`, and the kubernetes-models module of its schema
 * (exporting the model class `Kind` and its interface `IKind`). A kind missing here fails validation: a new
 * kind must come with its schema, never be skipped.
 */
const SCHEMAS: Record<string, string> = {
  'v1/Namespace': 'kubernetes-models/v1/Namespace',
  'v1/ConfigMap': 'kubernetes-models/v1/ConfigMap',
  'v1/Secret': 'kubernetes-models/v1/Secret',
  'v1/Service': 'kubernetes-models/v1/Service',
  'v1/ServiceAccount': 'kubernetes-models/v1/ServiceAccount',
  'v1/PersistentVolumeClaim': 'kubernetes-models/v1/PersistentVolumeClaim',
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'apps/v1/StatefulSet': 'kubernetes-models/apps/v1/StatefulSet',
  'batch/v1/CronJob': 'kubernetes-models/batch/v1/CronJob',
  'autoscaling/v2/HorizontalPodAutoscaler': 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
  'networking.k8s.io/v1/Ingress': 'kubernetes-models/networking.k8s.io/v1/Ingress',
  'networking.k8s.io/v1/NetworkPolicy': 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
  'rbac.authorization.k8s.io/v1/Role': 'kubernetes-models/rbac.authorization.k8s.io/v1/Role',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding',
  // Gateway API, from @kubernetes-models/gateway-api (its v1 models, of Gateway API 1.5). The manifests carry an
  // HTTPRoute; a Gateway only in docs/deploy.md, whose example the specs validate.
  'gateway.networking.k8s.io/v1/HTTPRoute': '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute',
  'gateway.networking.k8s.io/v1/Gateway': '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway',
  'monitoring.coreos.com/v1/PodMonitor': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor',
  'monitoring.coreos.com/v1/ServiceMonitor':
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PrometheusRule':
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
  'keda.sh/v1alpha1/ScaledObject': '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject',
};

const MODELS: Record<string, new (data: never) => Validatable> = Object.fromEntries(
  await Promise.all(
    Object.entries(SCHEMAS).map(async ([key, module]) => {
      const kind = key.slice(key.lastIndexOf('/') + 1);
      const exports = (await import(module)) as Record<string, new (data: never) => Validatable>;
      return [key, exports[kind]!] as const;
    }),
  ),
);

/** `kubectl kustomize <dir>`, parsed into objects. Throws with kubectl's message when the build fails. */
export function renderKustomize(dir: string): K8sObject[] {
  const text = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseManifests(text, dir);
}

/** Parses a multi-document YAML stream; a YAML error or a document without kind and name is an error. */
export function parseManifests(text: string, source: string): K8sObject[] {
  return parseAllDocuments(text).flatMap((doc, index) => {
    if (doc.errors.length > 0) throw new Error(`${source}: document ${index}: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return [];
    if (!isObject(value) || typeof value.apiVersion !== 'string' || typeof value.kind !== 'string') {
      throw new Error(`${source}: document ${index} has no apiVersion or kind`);
    }
    const metadata = value.metadata;
    if (!isObject(metadata) || typeof metadata.name !== 'string') {
      throw new Error(`${source}: document ${index} (${value.kind}) has no metadata.name`);
    }
    return [value as K8sObject];
  });
}

/** Validates one object against its schema; the error names the object and every schema violation. */
export function validateObject(object: K8sObject): void {
  const key = schemaKey(object);
  const Model = MODELS[key];
  if (!Model) throw new Error(`${key} ${object.metadata.name}: no schema for this kind (add it to SCHEMAS)`);
  try {
    new Model(object as never).validate();
  } catch (error) {
    throw new Error(`${key} ${object.metadata.name}: ${(error as Error).message}`, { cause: error });
  }
}

const schemaKey = (object: K8sObject) => `${object.apiVersion}/${object.kind}`;

/**
 * Fields that the schema of their object does not declare, e.g. `Deployment/gateway: spec.replcas is not a
 * field of DeploymentSpec`. Objects of a kind without a schema are left to validateObject. One TypeScript
 * program for all the objects: each becomes `const o: IKind = <the object as JSON>`, and every property of
 * every object literal in it is looked up in the type the checker expects there (its contextual type).
 */
export function unknownFieldProblems(objects: K8sObject[]): string[] {
  const known = objects.filter((object) => SCHEMAS[schemaKey(object)]);
  const fileName = fileURLToPath(new URL('./__strict-fields__.ts', import.meta.url));
  const text = known
    .map((object, index) => {
      const module = SCHEMAS[schemaKey(object)]!;
      return `export const o${index}: import('${module}').I${object.kind} = ${JSON.stringify(object)};`;
    })
    .join('\n');
  const options: ts.CompilerOptions = {
    noEmit: true,
    strict: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const { getSourceFile, fileExists } = host;
  host.getSourceFile = (name, ...rest) => (name === fileName ? source : getSourceFile.call(host, name, ...rest));
  host.fileExists = (name) => name === fileName || fileExists.call(host, name);
  const checker = ts.createProgram([fileName], options, host).getTypeChecker();

  const problems: string[] = [];
  source.statements.forEach((statement, index) => {
    const declaration = (statement as ts.VariableStatement).declarationList.declarations[0]!;
    const visit = (node: ts.Node, path: string): void => {
      if (ts.isArrayLiteralExpression(node)) {
        node.elements.forEach((element, i) => visit(element, `${path}[${i}]`));
        return;
      }
      if (!ts.isObjectLiteralExpression(node)) return;
      const expected = checker.getContextualType(node);
      for (const property of node.properties) {
        if (!ts.isPropertyAssignment(property) || !ts.isStringLiteral(property.name)) continue;
        const name = property.name.text;
        const at = path ? `${path}.${name}` : name;
        if (expected && !declares(checker, expected, name)) {
          problems.push(`${ref(known[index]!)}: ${at} is not a field of ${typeName(checker, expected)}`);
          continue;
        }
        visit(property.initializer, at);
      }
    };
    visit(declaration.initializer!, '');
  });
  return problems;
}

/** True when `type` (or a member of a union) has the property or a string index signature, or is untyped. */
function declares(checker: ts.TypeChecker, type: ts.Type, name: string): boolean {
  return members(type).some(
    (t) =>
      (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0 ||
      t.getProperty(name) !== undefined ||
      checker.getIndexInfoOfType(t, ts.IndexKind.String) !== undefined,
  );
}

/** The interface's name without its `I`: `DeploymentSpec` for `IDeploymentSpec`. */
function typeName(checker: ts.TypeChecker, type: ts.Type): string {
  return members(type)
    .map((t) => checker.typeToString(t).replace(/^I(?=[A-Z])/, ''))
    .join(' | ');
}

/** The types a value may have there: the members of a union, without `undefined` and `null`. */
function members(type: ts.Type): ts.Type[] {
  return (type.isUnion() ? type.types : [type]).filter(
    (t) => (t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)) === 0,
  );
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `Kind/name`, for messages. */
export function ref(object: K8sObject): string {
  return `${object.kind}/${object.metadata.name}`;
}
