/**
 * Guardrails on a turn, framework-free: the visitor's message is checked (personal data, injection patterns,
 * the classifier) before the model sees it or it is stored, and the model's reply is checked as it streams
 * (personal data, system-prompt leakage) before the client sees it. Each intervention counts in
 * `parley_guardrail_actions_total{check, action, model}` and is a `guardrail` event on the turn's span; the
 * content is never logged. docs/guardrails.md describes the policies.
 */
import { ParleyError, messageText, type ModelMessage, type TurnStart } from '@parley/contracts';
import type { GuardrailPolicy, PiiKind } from '@parley/config';
import type { Logger, Registry } from '@parley/tracing';
import type { Span } from '@opentelemetry/api';
import { Counter } from 'prom-client';
import { injectionRules } from './injection.js';
import { LeakStream } from './leak.js';
import { PiiStream, findPii, redactPii } from './pii.js';
import type { GuardrailPolicies } from './policies.js';

/** The checks, as the metric's `check` label names them. */
export const GuardrailChecks = {
  piiInput: 'pii_input',
  piiOutput: 'pii_output',
  injection: 'injection',
  leak: 'leak',
  moderationInput: 'moderation_input',
  moderationOutput: 'moderation_output',
} as const;
type Check = (typeof GuardrailChecks)[keyof typeof GuardrailChecks];
type Action = 'block' | 'redact' | 'flag';

/** Models not yet seen accepted by inference are counted as this, so a client cannot grow the label. */
const OTHER_MODEL = 'other';

/** What the visitor's message was found to hold, and the input to use instead. */
interface InputFinding {
  check: Check;
  action: Action;
  /** Kinds or rule names: never content. */
  details: string[];
}

/** Counts and records interventions (metric, span event, a log line on blocks), never with the content. */
export class GuardrailEvents {
  private readonly actions: Counter<'check' | 'action' | 'model'>;
  private readonly classifierErrors: Counter<'reason' | 'decision'>;
  private readonly models = new Set<string>();

  constructor(
    metrics: Registry,
    private readonly log: Logger,
  ) {
    this.actions = new Counter({
      name: 'parley_guardrail_actions_total',
      help: 'Guardrail interventions, by check (pii_input, pii_output, injection, leak, moderation_*), action and model',
      labelNames: ['check', 'action', 'model'] as const,
      registers: [metrics],
    });
    this.classifierErrors = new Counter({
      name: 'parley_guardrail_classifier_errors_total',
      help: 'Classifier calls that failed or timed out, and what the policy decided (allowed: fail open)',
      labelNames: ['reason', 'decision'] as const,
      registers: [metrics],
    });
  }

  /** Inference accepted this model alias: from now on it is its own label value. */
  modelAccepted(model: string): void {
    this.models.add(model);
  }

  record(turn: TurnStart, span: Span, { check, action, details }: InputFinding): void {
    const model = this.models.has(turn.model) ? turn.model : OTHER_MODEL;
    this.actions.inc({ check, action, model });
    span.addEvent('guardrail', {
      'parley.guardrail.check': check,
      'parley.guardrail.action': action,
      'parley.guardrail.details': details,
    });
    if (action === 'block') this.log.info({ turnId: turn.turnId, check, action, details }, 'guardrail blocked');
  }

  classifierError(reason: string, decision: 'allowed' | 'blocked'): void {
    this.classifierErrors.inc({ reason, decision });
  }
}

/** The turn with its input checked: the messages to use, and what to record once the turn is under way. */
export interface CheckedInput {
  turn: TurnStart;
  policy: GuardrailPolicy;
  findings: InputFinding[];
}

/** Runs the input checks and builds the output guard of each turn. */
export class Guardrails {
  constructor(
    private readonly policies: GuardrailPolicies,
    readonly events: GuardrailEvents,
  ) {}

  /**
   * The turn with personal data redacted from the visitor's messages as the policy says, after the injection
   * and classifier checks. A `block` throws `content_blocked` with the policy's message (and is recorded at once).
   */
  async checkInput(turn: TurnStart, span: Span): Promise<CheckedInput> {
    const policy = this.policies.policyFor(turn.account?.project, turn.model);
    const findings: InputFinding[] = [];
    const block = (finding: InputFinding): never => {
      this.events.record(turn, span, finding);
      throw new ParleyError('content_blocked', policy.blockedMessage);
    };
    let checked = turn;
    if (policy.pii.input !== 'off') {
      const { turn: redacted, kinds } = redactInput(turn, policy.pii.kinds, policy.pii.input === 'redact');
      if (kinds.length > 0) {
        const finding = { check: GuardrailChecks.piiInput, action: policy.pii.input, details: kinds };
        if (policy.pii.input === 'block') block(finding);
        findings.push(finding);
        checked = redacted;
      }
    }
    const text = lastUserText(checked);
    if (policy.injection.action !== 'off') {
      const rules = injectionRules(text);
      if (rules.length > 0) {
        const finding = { check: GuardrailChecks.injection, action: policy.injection.action, details: rules };
        if (finding.action === 'block') block(finding);
        findings.push(finding);
      }
    }
    const classifier = this.policies.classifier;
    if (policy.moderation.input !== 'off' && classifier) {
      const verdict = await classifier.classify(text);
      const check = GuardrailChecks.moderationInput;
      if (verdict.outcome === 'error') {
        const closed = classifier.config.onError === 'block';
        this.events.classifierError(verdict.reason, closed ? 'blocked' : 'allowed');
        if (closed) block({ check, action: 'block', details: [`classifier_${verdict.reason}`] });
      } else if (verdict.outcome === 'flagged') {
        const finding = { check, action: policy.moderation.input, details: [] };
        if (finding.action === 'block') block(finding);
        findings.push(finding);
      }
    }
    return { turn: checked, policy, findings };
  }

  /** Records the input's findings on a turn that got under way. */
  recordInput(turn: TurnStart, span: Span, { findings }: CheckedInput): void {
    for (const finding of findings) this.events.record(turn, span, finding);
  }

  /** The guard of the turn's reply against its policy and its system prompts. */
  output(turn: TurnStart, policy: GuardrailPolicy, systemPrompts: readonly string[], span: Span): OutputGuard {
    return new OutputGuard({ turn, policy, systemPrompts, span, events: this.events });
  }

  /**
   * Classifies the finished reply (`moderation.output: flag`) without holding up the turn: the reply has been
   * sent; a finding is recorded, a failure only counted.
   */
  moderateOutput(turn: TurnStart, policy: GuardrailPolicy, text: string, span: Span): void {
    const classifier = this.policies.classifier;
    if (policy.moderation.output === 'off' || !classifier || !text) return;
    void classifier.classify(text).then((verdict) => {
      if (verdict.outcome === 'error') this.events.classifierError(verdict.reason, 'allowed');
      else if (verdict.outcome === 'flagged') {
        this.events.record(turn, span, { check: GuardrailChecks.moderationOutput, action: 'flag', details: [] });
      }
    });
  }
}

/** What the guard lets out of a push: the text, and whether the reply is cut here (`blocked`). */
export interface GuardRelease {
  text: string;
  /** The text was changed (redacted): its token logprobs must not go out. */
  changed: boolean;
  blocked: boolean;
}

/**
 * The reply's guard: personal data first (redacted, flagged or cut), then the system-prompt leak check on what
 * that lets out. Each stage holds back only the tail that could still become a finding.
 */
export class OutputGuard {
  private readonly pii: PiiStream | undefined;
  private readonly leak: LeakStream | undefined;
  private blocked = false;

  constructor(
    private readonly options: {
      turn: TurnStart;
      policy: GuardrailPolicy;
      systemPrompts: readonly string[];
      span: Span;
      events: GuardrailEvents;
    },
  ) {
    const { policy, systemPrompts } = options;
    if (policy.pii.output !== 'off') this.pii = new PiiStream(policy.pii.kinds);
    const prompts = systemPrompts.filter((p) => p.trim().length >= policy.leak.minChars);
    if (policy.leak.action !== 'off' && prompts.length > 0) {
      this.leak = new LeakStream(prompts, { minChars: policy.leak.minChars, hold: policy.leak.action === 'block' });
    }
  }

  /** What the visitor sees where the reply is cut. */
  get blockedMessage(): string {
    return this.options.policy.blockedMessage;
  }

  /** Whether any check is on: without, the relay need not call the guard. */
  get active(): boolean {
    return this.pii !== undefined || this.leak !== undefined;
  }

  /** Whether text is held back. */
  get holding(): boolean {
    return (this.pii?.holding ?? false) || (this.leak?.holding ?? false);
  }

  push(text: string): GuardRelease {
    if (this.blocked) return { text: '', changed: false, blocked: true };
    const first = this.pii ? this.piiStage(this.pii.push(text)) : { text, changed: false, blocked: false };
    return this.leakStage(first, (t) => this.leak!.push(t));
  }

  end(): GuardRelease {
    if (this.blocked) return { text: '', changed: false, blocked: true };
    const first = this.pii ? this.piiStage(this.pii.end()) : { text: '', changed: false, blocked: false };
    return this.leakStage(first, (t) => {
      const pushed = this.leak!.push(t);
      return pushed.leaked ? pushed : { text: pushed.text + this.leak!.end(), leaked: false };
    });
  }

  private piiStage({ text, matches }: ReturnType<PiiStream['push']>): GuardRelease {
    if (matches.length === 0) return { text, changed: false, blocked: false };
    const action = this.options.policy.pii.output as Action;
    const kinds = [...new Set(matches.map((m) => m.kind))];
    this.record(GuardrailChecks.piiOutput, action, kinds);
    if (action === 'block') {
      this.blocked = true;
      return { text: text.slice(0, matches[0]!.start), changed: true, blocked: true };
    }
    if (action === 'flag') return { text, changed: false, blocked: false };
    return { text: redactPii(text, matches), changed: true, blocked: false };
  }

  private leakStage(first: GuardRelease, push: (text: string) => { text: string; leaked: boolean }): GuardRelease {
    if (!this.leak) return first;
    const { text, leaked } = push(first.text);
    if (!leaked) return { ...first, text };
    const action = this.options.policy.leak.action as Action;
    this.record(GuardrailChecks.leak, action, []);
    if (action === 'flag') return { ...first, text };
    this.blocked = true;
    return { text, changed: true, blocked: true };
  }

  private record(check: Check, action: Action, details: string[]): void {
    this.options.events.record(this.options.turn, this.options.span, { check, action, details });
  }
}

/** The text of the turn's last user message: what the injection and classifier checks read. */
function lastUserText(turn: TurnStart): string {
  if (turn.kind === 'conversation') return turn.userMessage.content;
  const last = turn.messages.findLast((m) => m.role === 'user');
  return last ? messageText(last) : '';
}

/** The turn with personal data in its user messages redacted (when `redact`), and the kinds found. */
function redactInput(
  turn: TurnStart,
  kinds: readonly PiiKind[],
  redact: boolean,
): { turn: TurnStart; kinds: PiiKind[] } {
  const found = new Set<PiiKind>();
  const clean = (text: string) => {
    const matches = findPii(text, kinds);
    for (const m of matches) found.add(m.kind);
    return redact && matches.length > 0 ? redactPii(text, matches) : text;
  };
  if (turn.kind === 'conversation') {
    const content = clean(turn.userMessage.content);
    return { turn: { ...turn, userMessage: { ...turn.userMessage, content } }, kinds: [...found] };
  }
  const messages = turn.messages.map((m): ModelMessage => {
    if (m.role !== 'user') return m;
    if (typeof m.content === 'string') return { ...m, content: clean(m.content) };
    return {
      ...m,
      content: m.content.map((part) => (part.type === 'text' ? { ...part, text: clean(part.text) } : part)),
    };
  });
  return { turn: { ...turn, messages }, kinds: [...found] };
}
