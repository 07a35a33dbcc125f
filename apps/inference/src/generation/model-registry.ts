import { ParleyError, type ModelsReply } from '@parley/contracts';
import type { ChatProvider } from '../providers/provider.js';

export interface ModelRoute {
  /** The name clients ask for. */
  alias: string;
  /** The name the upstream knows. */
  upstreamModel: string;
  provider: ChatProvider;
}

/** Model aliases this replica can serve. (Weighted targets and fallbacks come with routing, issue #4.) */
export class ModelRegistry {
  private readonly byAlias: Map<string, ModelRoute>;
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(routes: ModelRoute[]) {
    this.byAlias = new Map(routes.map((route) => [route.alias, route]));
  }

  resolve(alias: string): ModelRoute {
    const route = this.byAlias.get(alias);
    if (!route) throw new ParleyError('model_not_found', `model "${alias}" does not exist`, { param: 'model' });
    return route;
  }

  list(): ModelsReply {
    return {
      models: [...this.byAlias.keys()].map((id) => ({ id, created: this.created, ownedBy: 'parley' })),
    };
  }
}
