// Lambda entry for the consumer group routes (REST Proxy v2 consumers, group admin).
import { httpHandler } from './shared/http.ts';

export const handler = httpHandler('consumers');
