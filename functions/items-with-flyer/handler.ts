import { catalog } from '../../example';
import { createJoinHandlers } from '../../shared/fk-join';

/** The first hop to an offer: each item with its flyer (`items` ⋈ `flyers` → `items-with-flyer`). */
export const { left, right } = createJoinHandlers(catalog.itemsWithFlyer, { env: process.env });
