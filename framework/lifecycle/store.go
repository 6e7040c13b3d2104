package lifecycle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/journal"
)

// Labels and keys of the record Secrets.
const (
	// DefaultNamespace is where records are kept in the cluster.
	DefaultNamespace = "gameday-system"
	// RecordLabel marks a Secret that holds an outstanding record.
	RecordLabel = "gameday.dev/record"
	// RunAnnotation names the run a record Secret belongs to.
	RunAnnotation = "gameday.dev/run"
	// HolderAnnotation names the process that keeps a record live when no run
	// lease does (an e2e test): lease.Identity's "user@host pid N, run RUN, ...".
	HolderAnnotation = "gameday.dev/holder"
	// PhaseKey is the Secret data key that holds a drill record's phase state
	// (JSON: phase, done, at), so a recover without the journal resumes right.
	PhaseKey = "phase.json"
	// RecordKey is the Secret data key that holds the record's JSON.
	RecordKey = "record.json"
	// SecretType is the type of record Secrets.
	SecretType corev1.SecretType = "gameday.dev/record"
	managedBy                    = "app.kubernetes.io/managed-by"
)

// Store keeps the outstanding records of a cluster in that cluster, one Secret per
// record, so that they survive the harness and its run folder: `gameday recover`
// finds them there when the journal is lost. Restore data may be sensitive (a saved
// Corefile, key material), so it lives in a Secret, never in an annotation.
type Store struct {
	Client kubernetes.Interface
	// Namespace holds the Secrets; "" means DefaultNamespace.
	Namespace string
	// Holder, when set, is written on every record as HolderAnnotation: the process
	// whose life keeps the records live for `gameday recover` when no run lease
	// names their run (an e2e session takes no lease).
	Holder string
}

func (s *Store) namespace() string {
	if s.Namespace == "" {
		return DefaultNamespace
	}
	return s.Namespace
}

// SecretName is the name of the Secret that holds the record with this ID.
func SecretName(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "gameday-record-" + hex.EncodeToString(sum[:])[:20]
}

// Save creates or replaces the record's Secret, creating the namespace when missing.
func (s *Store) Save(ctx context.Context, rec fault.Record) error {
	return s.save(ctx, rec, nil)
}

// phaseState is a drill record's phase as stored beside it.
type phaseState struct {
	Phase string    `json:"phase"`
	Done  bool      `json:"done"`
	At    time.Time `json:"at"`
}

// SavePhase stores the record with its drill phase: started (done false) or ended.
func (s *Store) SavePhase(ctx context.Context, rec fault.Record, phase string, done bool, at time.Time) error {
	b, err := json.Marshal(phaseState{Phase: phase, Done: done, At: at})
	if err != nil {
		return err
	}
	return s.save(ctx, rec, b)
}

func (s *Store) save(ctx context.Context, rec fault.Record, phase []byte) error {
	ns := s.namespace()
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: SecretName(rec.ID), Namespace: ns,
			Labels:      map[string]string{RecordLabel: "true", managedBy: "gameday"},
			Annotations: map[string]string{RunAnnotation: rec.RunID},
		},
		Type: SecretType,
		Data: map[string][]byte{RecordKey: []byte(rec.Marshal())},
	}
	if phase != nil {
		secret.Data[PhaseKey] = phase
	}
	if s.Holder != "" {
		secret.Annotations[HolderAnnotation] = s.Holder
	}
	secrets := s.Client.CoreV1().Secrets(ns)
	_, err := secrets.Create(ctx, secret, metav1.CreateOptions{FieldManager: "gameday"})
	if apierrors.IsNotFound(err) {
		if err := ensureNamespace(ctx, s.Client, ns); err != nil {
			return err
		}
		_, err = secrets.Create(ctx, secret, metav1.CreateOptions{FieldManager: "gameday"})
	}
	if apierrors.IsAlreadyExists(err) {
		_, err = secrets.Update(ctx, secret, metav1.UpdateOptions{FieldManager: "gameday"})
	}
	if err != nil {
		return fmt.Errorf("storing record %s in secret %s/%s: %w", rec.ID, ns, secret.Name, err)
	}
	return nil
}

// Delete removes the record's Secret; a missing one is not an error.
func (s *Store) Delete(ctx context.Context, id string) error {
	err := s.Client.CoreV1().Secrets(s.namespace()).Delete(ctx, SecretName(id), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting the stored record %s: %w", id, err)
	}
	return nil
}

// List returns every record stored in the cluster, oldest planned first. A Secret
// whose record cannot be read is an error naming it: it may hide a fault.
func (s *Store) List(ctx context.Context) ([]fault.Record, error) {
	states, err := s.States(ctx)
	if err != nil {
		return nil, err
	}
	recs := make([]fault.Record, 0, len(states))
	for _, st := range states {
		recs = append(recs, st.Record)
	}
	return recs, nil
}

// Holders maps each stored record's ID to its HolderAnnotation, for the records
// that have one.
func (s *Store) Holders(ctx context.Context) (map[string]string, error) {
	ns := s.namespace()
	list, err := s.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: RecordLabel + "=true"})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing stored records in %s: %w", ns, err)
	}
	out := map[string]string{}
	for _, sec := range list.Items {
		if h := sec.Annotations[HolderAnnotation]; h != "" {
			if rec, err := fault.ParseRecord(string(sec.Data[RecordKey])); err == nil {
				out[rec.ID] = h
			}
		}
	}
	return out, nil
}

// States is List with each record's state as far as the cluster knows it: planned,
// and for a drill the phase it last started or ended (what Settle needs).
func (s *Store) States(ctx context.Context) ([]journal.RecordState, error) {
	ns := s.namespace()
	list, err := s.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: RecordLabel + "=true"})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing stored records in %s: %w", ns, err)
	}
	var states []journal.RecordState
	for _, sec := range list.Items {
		rec, err := fault.ParseRecord(string(sec.Data[RecordKey]))
		if err != nil {
			return nil, fmt.Errorf("secret %s/%s: %w", ns, sec.Name, err)
		}
		st := journal.RecordState{Record: rec, Last: journal.OpPlanned, PlannedAt: rec.PlannedAt}
		if b, ok := sec.Data[PhaseKey]; ok {
			var ps phaseState
			if err := json.Unmarshal(b, &ps); err != nil {
				return nil, fmt.Errorf("secret %s/%s: reading %s: %w", ns, sec.Name, PhaseKey, err)
			}
			st.Phase, st.PhaseDone, st.PhaseAt, st.Injected = ps.Phase, ps.Done, ps.At, true
			st.Last = journal.OpPhaseStarted
			if ps.Done {
				st.Last = journal.OpPhaseDone
			}
		}
		states = append(states, st)
	}
	sort.SliceStable(states, func(i, j int) bool {
		a, b := states[i].Record, states[j].Record
		if !a.PlannedAt.Equal(b.PlannedAt) {
			return a.PlannedAt.Before(b.PlannedAt)
		}
		return a.ID < b.ID
	})
	return states, nil
}

func ensureNamespace(ctx context.Context, client kubernetes.Interface, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{managedBy: "gameday"}}}
	_, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: "gameday"})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}
