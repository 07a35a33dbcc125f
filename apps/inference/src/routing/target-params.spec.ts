import { RoutingFileError } from '@parley/config';
import { describe, expect, it } from 'vitest';
import { OpenAICompatibleProvider } from '../providers/openai-compatible.provider.js';
import { StaticReplyProvider } from '../providers/static.provider.js';
import type { Target } from './router.js';
import { dropParamsOf, dropTheSame, droppedParams, fittingTargets, paramsFor } from './target-params.js';

const TOOLS = [{ type: 'function' as const, function: { name: 'lookup' } }];
const upstream = (name: string, dropParams: string[] = []): Target => ({
  name,
  upstreamModel: 'm',
  provider: new OpenAICompatibleProvider({ baseUrl: 'http://127.0.0.1:1/v1', requestTimeoutMs: 1_000 }),
  dropParams: dropParamsOf(dropParams, name),
});
const canned = (dropParams: string[] = []): Target => ({
  name: 'canned',
  upstreamModel: 'static',
  provider: new StaticReplyProvider('sorry'),
  dropParams: dropParamsOf(dropParams, 'canned'),
});

describe('target params', () => {
  it('params - a target drops what its dropParams name and reports only those the request has', () => {
    const target = upstream('a', ['user', 'seed']);
    const params = { user: 'u', temperature: 0.5 };
    expect(paramsFor(target, params)).toEqual({ temperature: 0.5 });
    expect(droppedParams(target, params)).toEqual(['user']);
    expect(droppedParams(target, { temperature: 0.5 })).toEqual([]);
    expect(dropTheSame(target, upstream('b'), params)).toBe(false);
    expect(dropTheSame(target, upstream('b'), { temperature: 0.5 })).toBe(true);
  });

  it('params - targets that cannot serve a parameter are left out; none left is a 400 naming it', () => {
    const a = upstream('a');
    expect(fittingTargets([a, canned()], { tools: TOOLS }, 'support')).toEqual([a]);
    expect(fittingTargets([a, canned()], { temperature: 1 }, 'support')).toHaveLength(2);
    expect(() => fittingTargets([canned()], { tools: TOOLS }, 'support')).toThrow(
      expect.objectContaining({ code: 'invalid_request', param: 'tools' }),
    );
    const dropping = canned(['tools']);
    expect(fittingTargets([dropping], { tools: TOOLS }, 'support')).toEqual([dropping]);
  });

  it('params - a routing file naming an unknown parameter in dropParams is refused', () => {
    expect(() => dropParamsOf(['tools', 'temprature'], 'a')).toThrow(RoutingFileError);
    expect(() => dropParamsOf(['tools', 'temprature'], 'a')).toThrow(/target "a": dropParams: "temprature"/);
  });
});
