// Lambda entry for the scheduled gc job (an EventBridge schedule invokes it).
import { jobHandler } from './shared/job.ts';

export const handler = jobHandler('gc');
