// Orders enriched with their customer: each order looks up the customers table as it is when the
// order is processed, so a customer's latest name and tier are used, and an order whose customer the
// table does not have (never written, or deleted by a tombstone) is not emitted.
//
// The stream and the table are both keyed by customer id and read in the same task per partition,
// so `orders` and `customers` must have the same partition count (the runtime refuses to start
// otherwise) and be produced with the same partitioner (the clients' default, murmur2 of the key).
//
// An installed application imports '@floe/streams'; the repository's examples import the source.
import { Consumed, Materialized, Produced, Serdes, StreamsBuilder, streamsHandler } from '../../packages/streams/src/index.ts';

export interface Order {
  orderId: string;
  customerId: string;
  amount: number;
}

export interface Customer {
  name: string;
  tier: string;
}

export interface EnrichedOrder extends Order {
  customer: Customer;
}

export const applicationId = 'orders-enrichment';

const builder = new StreamsBuilder();

const customers = builder.table('customers', Consumed.with(Serdes.String(), Serdes.Json<Customer>()), Materialized.as('customers'));

builder
  .stream('orders', Consumed.with(Serdes.String(), Serdes.Json<Order>()))
  // Field by field: should customer records grow more fields, they stay out of orders-enriched.
  .join(customers, (order, customer): EnrichedOrder => ({ ...order, customer: { name: customer.name, tier: customer.tier } }))
  .to('orders-enriched', Produced.with(Serdes.String(), Serdes.Json<EnrichedOrder>()));

export const topology = builder.build();

export const handler = streamsHandler(topology, { applicationId });
