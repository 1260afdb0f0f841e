import { TICKET_LENGTH, generateTicket } from '@cloakroom/core';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../src/config';
import { TicketBook } from '../src/ticket-book';

describe('TicketBook', () => {
  it('hands back every ticket it was given, each as a new string', () => {
    const book = new TicketBook(300);
    const given = Array.from({ length: 300 }, () => generateTicket());
    // Out of order, as the population's workers finish.
    for (let i = 299; i >= 0; i--) book.set(i, given[i] as string);
    expect(book.size).toBe(300);
    for (let i = 0; i < 300; i++) expect(book.at(i)).toBe(given[i]);
    expect(book.at(7)).toHaveLength(TICKET_LENGTH);
  });

  it('refuses what is not a ticket and indexes outside it', () => {
    const book = new TicketBook(2);
    expect(() => book.set(0, 'short')).toThrow(RangeError);
    expect(() => book.set(2, generateTicket())).toThrow(RangeError);
    expect(() => book.set(-1, generateTicket())).toThrow(RangeError);
    expect(book.size).toBe(0);
  });
});

describe('--scale-tickets', () => {
  it('defaults to packed tickets; both measures the two sources', () => {
    expect(readConfig([], {}).scaleTickets).toEqual(['packed']);
    expect(readConfig(['--scale-tickets=both'], {}).scaleTickets).toEqual(['packed', 'strings']);
    expect(readConfig(['--scale-tickets=strings'], {}).scaleTickets).toEqual(['strings']);
    expect(() => readConfig(['--scale-tickets=cold'], {})).toThrow(/ticket source/);
  });
});
