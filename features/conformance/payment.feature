@payment
Feature: Payments approved and declined (CONTRACT.md §2, §3)
  Genstore sends the Payment Object to the app's paymentUrl; the app acknowledges it at
  once and reports the final result by callback: payment/ for a sale. The suite judges from
  both ends: what Genstore recorded, and what the PSP's own records hold.

  Background:
    Given the app is installed on the shop

  Scenario: An approved sale is acknowledged, charged once and reported by payment/
    When a buyer pays "12.30" with the Visa test card 00
    Then the app acknowledged the payment with a channel payment id
    And Genstore records the payment as successful, reported by "payment/"
    And the PSP holds exactly one payment of "12.30", CAPTURED

  Scenario: A Mastercard sale in a currency without decimals
    When a buyer pays "1500" JPY with the Mastercard test card 00
    Then Genstore records the payment as successful, reported by "payment/"
    And the PSP holds exactly one payment of "1500", CAPTURED

  Scenario Outline: A declined card (row <row>, <decline>) is reported as failed, with a reason
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
    When a buyer pays "12.50" with the Visa test card 25
    Then Genstore records the payment as failed with a reason
    And the PSP holds no payment
