import { expect } from 'chai';
import { normaliseAvailability } from '../../src/ingest/availability.ts';
import { normaliseCondition } from '../../src/ingest/condition.ts';
import { extraFieldRule } from '../../src/ingest/extra-fields.ts';
import { normalisePrice } from '../../src/ingest/price.ts';
import { charLength, lengthProblem, quote } from '../../src/ingest/text.ts';
import { urlProblem } from '../../src/ingest/url.ts';

function priceOf(raw: string, currency = 'USD'): string {
  const result = normalisePrice(raw, currency);
  return result.ok ? result.value : `ERR ${result.reason}`;
}

describe('ingest field rules', () => {
  describe('price', () => {
    it('adds the catalog currency to a bare price and writes the currency minor digits', () => {
      expect(priceOf('9.99')).to.equal('9.99 USD');
      expect(priceOf('9.9')).to.equal('9.90 USD');
      expect(priceOf('14')).to.equal('14.00 USD');
      expect(priceOf('.5')).to.equal('0.50 USD');
      expect(priceOf('007.10')).to.equal('7.10 USD');
      expect(priceOf('9.990')).to.equal('9.99 USD');
      expect(priceOf('1000', 'JPY')).to.equal('1000 JPY');
      expect(priceOf('1.5', 'KWD')).to.equal('1.500 KWD');
    });

    it('keeps a currency the value already carries, before or after the amount, any case', () => {
      expect(priceOf('9.99 EUR')).to.equal('9.99 EUR');
      expect(priceOf('EUR 9.99')).to.equal('9.99 EUR');
      expect(priceOf('12 usd')).to.equal('12.00 USD');
      expect(priceOf('9.99GBP')).to.equal('9.99 GBP');
      expect(priceOf('1000 JPY', 'USD')).to.equal('1000 JPY');
    });

    it('rejects negative, zero and non-numbers with a reason naming the field and the rule', () => {
      expect(priceOf('-5')).to.equal('ERR price "-5" is negative');
      expect(priceOf('-0.01')).to.equal('ERR price "-0.01" is negative');
      expect(priceOf('0')).to.equal('ERR price "0" is zero: a product needs a price above 0');
      expect(priceOf('-0')).to.match(/is zero/);
      expect(priceOf('0.00 EUR')).to.match(/is zero/);
      for (const raw of ['NaN', 'abc', 'Infinity', '1e3', '1.2.3', '.', '+5', '- 5', 'USD 9.99 EUR']) {
        expect(priceOf(raw), raw).to.equal(`ERR price ${JSON.stringify(raw)} is not a number`);
      }
    });

    it('rejects commas as ambiguous instead of guessing thousands or decimals', () => {
      expect(priceOf('1,000')).to.match(
        /^ERR price "1,000" has a comma \(thousands separators and decimal commas/,
      );
      expect(priceOf('9,99 EUR')).to.match(/has a comma/);
    });

    it('rejects currency symbols, unknown codes and decimals the currency does not have', () => {
      expect(priceOf('$9.99')).to.match(/uses a currency symbol: write the ISO 4217 code/);
      expect(priceOf('€9,99')).to.match(/uses a currency symbol/);
      expect(priceOf('9.99 £')).to.match(/uses a currency symbol/);
      expect(priceOf('9.99 XYZ')).to.equal(
        'ERR price "9.99 XYZ" names "XYZ", which is not an ISO 4217 currency code',
      );
      expect(priceOf('9.999')).to.equal('ERR price "9.999" has 3 decimal places but USD has 2');
      expect(priceOf('1000.5 JPY')).to.equal('ERR price "1000.5 JPY" has 1 decimal place but JPY has 0');
    });
  });

  describe('availability', () => {
    const value = (raw: string): string => {
      const r = normaliseAvailability(raw);
      return r.ok ? r.value : `ERR ${r.reason}`;
    };

    it("passes Meta's values and maps common spellings onto them", () => {
      const cases: [string, string][] = [
        ['in stock', 'in stock'],
        ['in_stock', 'in stock'],
        ['InStock', 'in stock'],
        ['IN STOCK', 'in stock'],
        ['instock', 'in stock'],
        ['available', 'in stock'],
        ['https://schema.org/InStock', 'in stock'],
        ['out-of-stock', 'out of stock'],
        ['OutOfStock', 'out of stock'],
        ['sold out', 'out of stock'],
        ['available_for_order', 'available for order'],
        ['http://schema.org/BackOrder', 'available for order'],
        ['PreOrder', 'preorder'],
        ['pre-order', 'preorder'],
        ['Discontinued', 'discontinued'],
      ];
      for (const [raw, expected] of cases) expect(value(raw), raw).to.equal(expected);
    });

    it('refuses yes/no flags and unknown values, listing the allowed ones', () => {
      for (const raw of ['yes', 'No', 'TRUE', '0', '1'])
        expect(value(raw), raw).to.match(/is a yes\/no flag/);
      expect(value('maybe')).to.equal(
        'ERR availability "maybe" is not a known value (use in stock, out of stock, available for order, preorder, discontinued)',
      );
    });
  });

  describe('condition', () => {
    it('accepts Meta values in any case and with spaces for underscores; refuses others', () => {
      expect(normaliseCondition('new')).to.deep.equal({ ok: true, value: 'new' });
      expect(normaliseCondition('Refurbished')).to.deep.equal({ ok: true, value: 'refurbished' });
      expect(normaliseCondition('used like new')).to.deep.equal({ ok: true, value: 'used_like_new' });
      const bad = normaliseCondition('broken');
      expect(bad.ok).to.equal(false);
      expect(bad.ok ? '' : bad.reason).to.match(
        /^condition "broken" is not a known value \(use new, refurbished, used/,
      );
    });
  });

  describe('URLs', () => {
    it('accepts absolute http(s) URLs and names the problem of others', () => {
      expect(urlProblem('link', 'https://shop.example/p/1?x=1#y')).to.equal(null);
      expect(urlProblem('link', 'https://')).to.equal('link "https://" is not a valid URL');
      expect(urlProblem('link', 'https://shop.example/a b')).to.equal(
        'link "https://shop.example/a b" contains whitespace: percent-encode it (%20)',
      );
    });
  });

  describe('extra fields', () => {
    it('normalises sale_price like price and checks known limits and quantities', () => {
      expect(extraFieldRule('sale_price')!('7.5', 'EUR')).to.deep.equal({ ok: true, value: '7.50 EUR' });
      expect(extraFieldRule('sale_price')!('-1', 'EUR')).to.deep.equal({
        ok: false,
        reason: 'sale_price "-1" is negative',
      });
      expect(extraFieldRule('gtin')!('1'.repeat(71), 'USD')).to.deep.equal({
        ok: false,
        reason: 'gtin is 71 characters, over the limit of 70',
      });
      expect(extraFieldRule('quantity_to_sell_on_facebook')!('12', 'USD')).to.deep.equal({
        ok: true,
        value: 12,
      });
      expect(extraFieldRule('quantity_to_sell_on_facebook')!('1.5', 'USD').ok).to.equal(false);
      expect(extraFieldRule('some_custom_field')).to.equal(null);
    });
  });

  describe('text', () => {
    it('counts characters as code points, not UTF-16 units', () => {
      expect(charLength('🍵🍵')).to.equal(2);
      expect('🍵🍵'.length).to.equal(4);
      expect(lengthProblem('title', '🍵'.repeat(150), 150)).to.equal(null);
      expect(lengthProblem('title', '🍵'.repeat(151), 150, 'TITLE_MAX_LENGTH')).to.equal(
        'title is 151 characters, over the limit of 150 (TITLE_MAX_LENGTH)',
      );
    });

    it('quotes values short enough for a report', () => {
      expect(quote('a"b')).to.equal('"a\\"b"');
      expect(quote('x'.repeat(100))).to.equal(`"${'x'.repeat(60)}…"`);
    });
  });
});
