// The custom resources behind @floe/cdk's FloeEventSource (`Custom::FloeTrigger`) and FloeConnector
// (`Custom::FloeConnector`), run by the triggers function through CDK's provider framework: a deploy
// creates (or updates) the trigger or connector, a stack delete removes it. Its settings arrive as one
// JSON string, `Settings`, since CloudFormation turns every property value into a string and the
// numbers and booleans must reach the API as they were written.
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { loadConfig } from '../../src/config.ts';
import { createEngine } from '../../src/engine/engine.ts';
import { FloeError } from '../../src/errors.ts';
import { createClients } from '../../src/storage/clients.ts';

export interface ResourceAnswer {
  PhysicalResourceId: string;
  Data?: Record<string, string>;
}

/** FloeConnector's resource type; every other event is a FloeEventSource's `Custom::FloeTrigger`. */
export const CONNECTOR_RESOURCE = 'Custom::FloeConnector';

export function triggerResource(): (event: CloudFormationCustomResourceEvent) => Promise<ResourceAnswer> {
  let engine: ReturnType<typeof createEngine> | undefined;
  return async (event) => {
    engine ??= (() => {
      const config = loadConfig();
      return createEngine(config, createClients(config));
    })();
    const settings = JSON.parse(String((event.ResourceProperties as { Settings?: string }).Settings ?? '{}')) as Record<string, unknown>;
    if (event.ResourceType === CONNECTOR_RESOURCE) return connectorEvent(engine, event, settings);
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

/** A FloeConnector's event: its settings are the connectors API's create body, every setting written out. */
async function connectorEvent(engine: ReturnType<typeof createEngine>, event: CloudFormationCustomResourceEvent, settings: Record<string, unknown>): Promise<ResourceAnswer> {
  if (event.RequestType === 'Delete') {
    await engine.connectors.delete(event.PhysicalResourceId).catch((e: unknown) => {
      // Gone already, or the id of a create that failed (no connector name): nothing to delete.
      if (!(e instanceof FloeError && (e.code === 'CONNECTOR_NOT_FOUND' || e.code === 'BAD_REQUEST'))) throw e;
    });
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  const name = String(settings.name);
  // A connector of the name (an update, or a create retried by CloudFormation) takes the settings: all
  // of them, so one left out of the construct goes back to its default; a new type is refused with the
  // API's reason. Changed first, created if missing: a create would judge the settings by the new type.
  try {
    await engine.connectors.patch(name, settings);
  } catch (e) {
    if (!(e instanceof FloeError && e.code === 'CONNECTOR_NOT_FOUND')) throw e;
    await engine.connectors.create(settings);
  }
  // A new name is a new physical resource: CloudFormation then deletes the old one.
  return { PhysicalResourceId: name, Data: { ConnectorName: name } };
}
