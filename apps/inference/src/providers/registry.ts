/**
 * The providers a routing file's target can name: one factory per `provider` kind of the routing-file schema
 * (@parley/config), so adding a provider is one entry here beside its variant there.
 */
import type { InferenceProviderOrPolicy } from '@huggingface/inference';
import type { InferenceConfig, TargetConfig } from '@parley/config';
import type { ServiceContext } from '@parley/messaging';
import { HuggingFaceProvider } from './huggingface.provider.js';
import { OpenAICompatibleProvider } from './openai-compatible.provider.js';
import type { ChatProvider } from './provider.js';
import { StaticReplyProvider } from './static.provider.js';

/** A target as configured, with the key its `apiKeyEnv` names read from the environment. */
export interface TargetSpec<C extends TargetConfig = TargetConfig> {
  name: string;
  config: C;
  apiKey?: string;
}

/** What a provider may use: the connected service (NATS, JetStream, log, metrics) and its configuration. */
export type ProviderContext = ServiceContext & { config: InferenceConfig };

type ProviderKind = TargetConfig['provider'];
type SpecOf<K extends ProviderKind> = TargetSpec<Extract<TargetConfig, { provider: K }>>;
type ProviderFactory<K extends ProviderKind> = (target: SpecOf<K>, context: ProviderContext) => ChatProvider;

const PROVIDERS: { [K in ProviderKind]: ProviderFactory<K> } = {
  'openai-compatible': ({ name, config, apiKey }, context) =>
    new OpenAICompatibleProvider({
      name,
      baseUrl: config.baseUrl,
      apiKey,
      requestTimeoutMs: config.timeoutMs ?? context.config.PARLEY_UPSTREAM_TIMEOUT_MS,
      sessionHeader: config.sessionHeader,
      transport: config.transport,
      maxTokensField: config.maxTokensField,
    }),
  huggingface: ({ name, config, apiKey }) =>
    new HuggingFaceProvider({
      name,
      accessToken: apiKey,
      endpointUrl: config.endpointUrl,
      hfProvider: config.hfProvider as InferenceProviderOrPolicy | undefined,
      sessionHeader: config.sessionHeader,
    }),
  static: ({ config }) => new StaticReplyProvider(config.reply),
};

/** The provider of a target, made by the factory of its kind. */
export function createProvider(target: TargetSpec, context: ProviderContext): ChatProvider {
  return (PROVIDERS[target.config.provider] as ProviderFactory<ProviderKind>)(target, context);
}
