package dev.loomstack.config;

import dev.loomstack.link.LinkEndpoint;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.LivenessState;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.context.ApplicationEventPublisher;

/**
 * A lost TUN device cannot come back inside this process (the device and its routes are gone), so
 * the service reports itself broken: liveness DOWN, for Kubernetes to restart the pod, and readiness
 * refusing traffic, for the Service to stop sending it any.
 */
final class LinkLossAvailability implements LinkEndpoint.LossListener {
    private final ApplicationEventPublisher events;

    LinkLossAvailability(ApplicationEventPublisher events) {
        this.events = events;
    }

    @Override
    public void linkLost(String cause) {
        AvailabilityChangeEvent.publish(events, this, LivenessState.BROKEN);
        AvailabilityChangeEvent.publish(events, this, ReadinessState.REFUSING_TRAFFIC);
    }
}
