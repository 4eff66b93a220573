// Entry of the CDK app (cdk.json runs it): builds the stack from context and synthesizes it.
import { buildApp } from './app.ts';

const { app } = buildApp();
app.synth();
