// The custom resource behind @floe/cdk's FloeEventSource, run by the triggers function through CDK's
// provider framework: a deploy creates (or updates) the trigger, a stack delete removes it. Its
// settings arrive as one JSON string, `Settings`, since CloudFormation turns every property value
// into a string and the trigger's numbers and booleans must reach the API as they were written.
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { loadConfig } from '../../src/config.ts';
import { createEngine } from '../../src/engine/engine.ts';
import { FloeError } from '../../src/errors.ts';
import { createClients } from '../../src/storage/clients.ts';

export interface ResourceAnswer {
  PhysicalResourceId: string;
  Data?: Record<string, string>;
}

export function triggerResource(): (event: CloudFormationCustomResourceEvent) => Promise<ResourceAnswer> {
  let engine: ReturnType<typeof createEngine> | undefined;
  return async (event) => {
    engine ??= (() => {
      const config = loadConfig();
      return createEngine(config, createClients(config));
    })();
    const settings = JSON.parse(String((event.ResourceProperties as { Settings?: string }).Settings ?? '{}')) as Record<string, unknown>;
    const name = String(settings.name);
    if (event.RequestType === 'Delete') {
      await engine.triggers.delete(event.PhysicalResourceId).catch((e: unknown) => {
        if (!(e instanceof FloeError && e.code === 'TRIGGER_NOT_FOUND')) throw e;
      });
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    // A create retried by CloudFormation, or an update of the same name: the trigger takes the settings.
    let view;
    try {
      view = await engine.triggers.create(settings);
    } catch (e) {
      if (!(e instanceof FloeError && e.code === 'TRIGGER_ALREADY_EXISTS')) throw e;
      const { name: _n, starting_position: _p, starting_timestamp: _t, ...changes } = settings;
      view = await engine.triggers.patch(name, changes);
    }
    // A new name is a new physical resource: CloudFormation then deletes the old one.
    return { PhysicalResourceId: name, Data: { TriggerName: name, TriggerId: view.id } };
  };
}
