@capture
Feature: Manual capture and partial capture (CONTRACT.md §2, §3)
  A manualCapture:true payment is only authorized; its result goes to pre_authorize/. The
  merchant captures it later, in full or in part, once.

  Background:
    Given the app is installed on the shop

  Scenario: An authorization is reported by pre_authorize/ and captured in full
    When a buyer pays "20.00" with the Visa test card 00 to be captured later
    Then Genstore records the payment as authorized, reported by "pre_authorize/"
    And the PSP holds exactly one payment of "20.00", AUTHORIZED
    When the merchant captures the payment
    Then Genstore records the capture as successful
    And the PSP captured "20.00" of the payment

  Scenario: A partial capture captures only what was asked
    When a buyer pays "20.00" with the Visa test card 00 to be captured later
    Then Genstore records the payment as authorized, reported by "pre_authorize/"
    When the merchant captures "12.00"
    Then Genstore records the capture as successful
    And the PSP captured "12.00" of the payment

  Scenario: A capture above the authorized amount is refused without a PSP call
    When a buyer pays "20.00" with the Visa test card 00 to be captured later
    Then Genstore records the payment as authorized, reported by "pre_authorize/"
    When the merchant captures "25.00" without Genstore's own limit check
    Then Genstore records the capture as failed with a reason
    And the PSP captured nothing of the payment
