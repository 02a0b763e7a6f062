@void
Feature: Void (CONTRACT.md §2, §3)
  The merchant voids an authorized, uncaptured payment: the authorization is released at the
  PSP and the payment becomes 3 auth_void.

  Background:
    Given the app is installed on the shop

  Scenario: An authorization is voided and released at the PSP
    Requires docs/CONTRACT.md §2.1 (a void releases an uncaptured authorization) and §3.4.

    When a buyer pays "30.00" with the Visa test card 00 to be captured later
    Then Genstore records the payment as authorized, reported by "pre_authorize/"
    When the merchant voids the payment
    Then Genstore records the void as successful
    And the PSP released the payment without capturing it

  @idempotency
  Scenario: A void delivered twice is one void
    Requires docs/CONTRACT.md §2.3 and §2.4.

    When a buyer pays "30.10" with the Visa test card 00 to be captured later
    Then Genstore records the payment as authorized, reported by "pre_authorize/"
    Given Genstore delivers the next "void" request twice in a row
    When the merchant voids the payment
    Then Genstore records the void as successful
    And the PSP released the payment without capturing it
    And no callback contradicted a recorded result
