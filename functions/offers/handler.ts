import { catalog } from '../../example';
import { createJoinHandlers } from '../../shared/fk-join';

/** The Core Event `offers`: each item with its flyer and merchant (`items-with-flyer` ⋈ `merchants`). */
export const { left, right } = createJoinHandlers(catalog.offers, { env: process.env });
