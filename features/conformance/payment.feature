@payment
Feature: Payments approved and declined (docs/CONTRACT.md §2, §3)
  Genstore sends the Payment Object to the app's paymentUrl; the app acknowledges it at
  once and reports the final result by callback: payment/ for a sale. The suite judges from
  both ends: what Genstore recorded, and what the PSP's own records hold.

  Background:
    Given the app is installed on the shop

  Scenario: An approved sale is acknowledged, charged once and reported by payment/
    Requires docs/CONTRACT.md §2.4 (the acknowledgement), §3.1 (payment/ for a sale), §3.4 (the
    amount Genstore asked for, and a channel payment id for a success).

    When a buyer pays "12.30" with the Visa test card 00
    Then the app acknowledged the payment, and a channel payment id reached Genstore
    And Genstore records the payment as successful, reported by "payment/"
    And the PSP holds exactly one payment of "12.30", CAPTURED

  Scenario: A Mastercard sale in a currency without decimals
    Requires docs/CONTRACT.md §2.1 (amounts in the currency's own exponent), §3.4.

    When a buyer pays "1500" JPY with the Mastercard test card 00
    Then Genstore records the payment as successful, reported by "payment/"
    And the PSP holds exactly one payment of "1500", CAPTURED

  Scenario Outline: A declined card (row <row>, <decline>) is reported as failed, with a reason
    Requires docs/CONTRACT.md §3.1 (a "false" carries a reason), §3.4 (the PSP's outcome).

    When a buyer pays "12.40" with the Visa test card <row>
    Then Genstore records the payment as failed with a reason
    And the PSP holds exactly one payment of "12.40", FAILED

    Examples:
      | row | decline            |
      | 20  | insufficient funds |
      | 21  | do not honor       |
      | 22  | expired card       |
      | 23  | incorrect CVV      |
      | 24  | lost or stolen     |

  Scenario: A PSP that keeps failing leaves the payment failed and uncharged
    Requires docs/CONTRACT.md §2.5 (a 5xx is retried by Genstore, then the payment fails) and
    §3.4 (never "true" on a guess): a "false" with a reason, or 5xx until Genstore's retries
    run out — either way nothing charged.

    When a buyer pays "12.50" with the Visa test card 25
    Then Genstore records the payment as failed, reported by the app or when Genstore's retries ran out
    And the PSP holds no payment
