package dev.loomstack.api;

import dev.loomstack.wireguard.WireGuardKey;
import jakarta.validation.Constraint;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import jakarta.validation.Payload;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** A WireGuard public key as {@code wg pubkey} prints it: 44 characters of base64 for 32 bytes. */
@Target({ElementType.TYPE_USE, ElementType.FIELD, ElementType.PARAMETER})
@Retention(RetentionPolicy.RUNTIME)
@Constraint(validatedBy = WireGuardKeyText.Validator.class)
public @interface WireGuardKeyText {
    String message() default "must be a WireGuard key: 44 characters of base64 (as wg pubkey prints it)";

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};

    /** Null is left to {@code @NotNull}; the message says what is wrong, never echoing the text (it may be a secret pasted by mistake). */
    final class Validator implements ConstraintValidator<WireGuardKeyText, String> {
        @Override
        public boolean isValid(String value, ConstraintValidatorContext context) {
            if (value == null) {
                return true;
            }
            try {
                if (WireGuardKey.parse(value).isZero()) {
                    return reject(context, "the all-zero key is no peer's key");
                }
                return true;
            } catch (IllegalArgumentException e) {
                return reject(context, e.getMessage());
            }
        }

        private static boolean reject(ConstraintValidatorContext context, String why) {
            context.disableDefaultConstraintViolation();
            context.buildConstraintViolationWithTemplate(why.replace("{", "").replace("$", "")).addConstraintViolation();
            return false;
        }
    }
}
