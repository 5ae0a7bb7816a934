import { jsonValueFormat } from '../../shared/schemas/value-format';
import { defineMerchantsFromMonolith, merchantRow, monolithId, type Merchant } from '../../example';

describe("The monolith's merchants table, mapped to the merchants entity", () => {
  const mapping = defineMerchantsFromMonolith('', jsonValueFormat<Merchant>());
  const row = {
    id: 7,
    display_name: ' Corner Shop ',
    country_code: 'de',
    website_url: '',
    credit_limit_cents: 500_000,
    updated_at: '2026-12-01T10:00:00Z',
  };

  it('publishes the public shape: a merchant id, an upper-case country, null for no website, and nothing private', () => {
    expect(mapping.toEntity(row)).toEqual({ merchantId: 'merchant-7', name: 'Corner Shop', country: 'DE', website: null });
  });

  it('keys a delete by the primary key alone, which is all a delete carries', () => {
    expect(mapping.entityKey({ id: 7 })).toBe('merchant-7');
  });

  it('refuses a row the public schema cannot hold, naming the column', () => {
    expect(() => mapping.toEntity({ ...row, country_code: 'Germany' })).toThrow('country_code "Germany" is no ISO 3166-1 alpha-2 code');
    expect(() => mapping.toEntity({ ...row, display_name: '  ' })).toThrow('column display_name is empty');
    expect(() => mapping.entityKey({ id: '7' })).toThrow('column id is "7", not an integer');
  });

  it('writes a merchant as the monolith stores it, and reads it back unchanged through the mapping', () => {
    const merchant: Merchant = { merchantId: 'merchant-12', name: 'Fresh Market', country: 'FR', website: 'https://fresh.example' };
    const [id, displayName, countryCode, websiteUrl] = merchantRow(merchant);

    expect([id, displayName, countryCode, websiteUrl]).toEqual([12, 'Fresh Market', 'fr', 'https://fresh.example']);
    expect(mapping.toEntity({ id, display_name: displayName, country_code: countryCode, website_url: websiteUrl })).toEqual(merchant);
    expect(() => monolithId('shop-12')).toThrow('"shop-12" is no merchant id of the monolith');
  });

  it('names its source after the prefix, as a replication slot name allows', () => {
    expect(defineMerchantsFromMonolith('Test-1.', jsonValueFormat<Merchant>()).source.name).toBe('test_1_monolith');
    expect(mapping.changeTopic).toBe('monolith.public.merchants');
  });
});
