// The repository's stack: Floe's resources added to the stack itself, so that their logical IDs are
// the stack's own (a deployed stack keeps its resources across this code's changes).
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { Function as Lambda } from 'aws-cdk-lib/aws-lambda';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { Provider } from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import type { TableName } from '../src/storage/schema.ts';
import { addFloe, type FloeSettings } from './floe.ts';

export type { FloeAuth } from './floe.ts';

export interface FloeStackProps extends StackProps, FloeSettings {}

export class FloeStack extends Stack {
  readonly functions: Map<string, Lambda>;
  readonly tables: Record<TableName, Table>;
  readonly bucket: Bucket;
  readonly api: HttpApi;
  readonly alarmTopic: Topic;
  private readonly provider: () => Provider;

  constructor(scope: Construct, id: string, props: FloeStackProps) {
    super(scope, id, props);
    ({ functions: this.functions, tables: this.tables, bucket: this.bucket, api: this.api, alarmTopic: this.alarmTopic, triggerProvider: this.provider } = addFloe(this, props));
  }

  /** The provider of FloeEventSource's trigger resources, created on first use. */
  triggerProvider(): Provider {
    return this.provider();
  }
}
